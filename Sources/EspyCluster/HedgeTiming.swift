/// When a sub-request has been outstanding long enough to ask another replica too ("The Tail at
/// Scale": hedge once a request is slower than nearly all recent ones of its kind).
///
/// Per peer, a smoothed latency and its smoothed deviation, as TCP estimates its retransmission
/// timeout (RFC 6298): the hedge goes out after `smoothed + 4 × deviation`, never sooner than
/// `minimumMilliseconds`, so a healthy peer is hedged on only for its rare stragglers and a
/// peer that is slow all the time is given the time it usually needs. Pure: the shell feeds it
/// latencies it measured.
public struct HedgeTiming: Sendable {
    public var minimumMilliseconds: Double
    /// Used for a peer not measured yet.
    public var initialMilliseconds: Double

    private var estimates: [MemberName: (smoothed: Double, deviation: Double)] = [:]

    public init(minimumMilliseconds: Double = 5, initialMilliseconds: Double = 50) {
        self.minimumMilliseconds = minimumMilliseconds
        self.initialMilliseconds = initialMilliseconds
    }

    /// A sub-request to `peer` was answered after `milliseconds`.
    public mutating func observe(_ peer: MemberName, milliseconds: Double) {
        guard let (smoothed, deviation) = estimates[peer] else {
            estimates[peer] = (milliseconds, milliseconds / 2)
            return
        }
        let nextDeviation = 0.75 * deviation + 0.25 * abs(smoothed - milliseconds)
        estimates[peer] = (0.875 * smoothed + 0.125 * milliseconds, nextDeviation)
    }

    /// How long a sub-request to `peer` may be outstanding before it is hedged.
    public func hedgeAfterMilliseconds(_ peer: MemberName) -> Double {
        guard let (smoothed, deviation) = estimates[peer] else { return initialMilliseconds }
        return max(minimumMilliseconds, smoothed + 4 * deviation)
    }
}
