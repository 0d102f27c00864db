/// When a sub-request has been outstanding long enough to ask other replicas too, and whether
/// the cluster can afford it ("The Tail at Scale": hedge once a request is slower than nearly
/// all recent ones of its kind, for a few percent more load).
///
/// Timing: per peer, a smoothed latency and its smoothed deviation, as TCP estimates its
/// retransmission timeout (RFC 6298): the hedge goes out after `smoothed + 4 × deviation`,
/// never sooner than `minimumMilliseconds`, so a healthy peer is hedged on only for its rare
/// stragglers and a peer that is slow all the time is given the time it usually needs.
///
/// Budget: a hedge costs as many sub-requests as the straggler's partitions have distinct next
/// replicas (with rendezvous placement, dozens in a large cluster), so hedges are paid from a
/// bucket that every first-choice sub-request fills by `budgetFraction`: hedging never adds more
/// than that share of sub-requests, however slow the cluster gets. Pure: the shell feeds it
/// what it sent and measured.
public struct HedgeTiming: Sendable {
    public var minimumMilliseconds: Double
    /// Used for a peer not measured yet.
    public var initialMilliseconds: Double
    public var budgetFraction: Double
    /// The most the bucket holds, so a long quiet spell does not buy a storm of hedges.
    public var budgetCapacity: Double

    private var estimates: [MemberName: (smoothed: Double, deviation: Double)] = [:]
    private var budget: Double = 0

    public init(minimumMilliseconds: Double = 5, initialMilliseconds: Double = 50, budgetFraction: Double = 0.05,
                budgetCapacity: Double = 200) {
        self.minimumMilliseconds = minimumMilliseconds
        self.initialMilliseconds = initialMilliseconds
        self.budgetFraction = budgetFraction
        self.budgetCapacity = budgetCapacity
    }

    /// First-choice sub-requests were sent: they earn hedges.
    public mutating func sent(_ subRequests: Int) {
        budget = min(budgetCapacity, budget + Double(subRequests) * budgetFraction)
    }

    /// What one hedge sub-request costs, in first-choice sub-requests, when the query it races
    /// is answered from rollups: the hedge's target holds only some of the straggler's
    /// partitions and scans their records instead. Charged at face value, hedges of such counts
    /// cut a 6-node cluster's count throughput at 16 clients from 2,486 to 628 req/s
    /// (bench/cluster.sh, 1,000,000 records): each was a scan of tens of thousands of records,
    /// racing an answer read from a few rollup rows, on the same cores.
    public static let scanningHedgeCost: Double = 50

    /// Spends the budget for a hedge of `subRequests` sub-requests costing `cost` first-choice
    /// sub-requests each, if it holds that much.
    public mutating func spend(_ subRequests: Int, costing cost: Double = 1) -> Bool {
        let price = Double(subRequests) * cost
        guard price <= budget else { return false }
        budget -= price
        return true
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
