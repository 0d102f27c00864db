import Foundation

/// One running Lifeguard suspicion of a node (memberlist `suspicion`).
///
/// The timeout starts long (`maximum`) when independent confirmations are expected, and each
/// new suspector shortens it logarithmically towards `minimum`: a node that several peers
/// cannot reach is probably dead, while a lone accuser may be the one with the problem.
struct Suspicion: Sendable {
    /// Confirmations expected (`suspicionMultiplier − 2`, or 0 in clusters too small for them).
    let expectedConfirmations: Int
    let minimumMilliseconds: UInt64
    let maximumMilliseconds: UInt64
    let start: GossipInstant
    /// Distinct nodes that accused, the first one included.
    private var suspectors: Set<String>
    private(set) var confirmations = 0
    /// When the node is declared dead unless it refutes first.
    private(set) var deadline: GossipInstant

    init(from accuser: String, expectedConfirmations: Int, minimumMilliseconds: UInt64,
         maximumMilliseconds: UInt64, now: GossipInstant) {
        self.expectedConfirmations = expectedConfirmations
        self.minimumMilliseconds = minimumMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
        self.start = now
        self.suspectors = [accuser]
        // Without expected confirmations nothing could shorten a long timeout, so start short.
        self.deadline = now.advanced(byMilliseconds: expectedConfirmations < 1 ? minimumMilliseconds : maximumMilliseconds)
    }

    /// Counts `accuser` if it is new and confirmations are still wanted, moving the deadline
    /// earlier. Returns whether it counted (the caller then re-gossips the suspect message so
    /// that others learn of the confirmation too).
    mutating func confirm(from accuser: String) -> Bool {
        guard confirmations < expectedConfirmations, !suspectors.contains(accuser) else { return false }
        suspectors.insert(accuser)
        confirmations += 1
        deadline = start.advanced(byMilliseconds: Self.timeoutMilliseconds(
            confirmations: confirmations, expected: expectedConfirmations,
            minimum: minimumMilliseconds, maximum: maximumMilliseconds))
        return true
    }

    /// Total timeout after `confirmations` of `expected`: max − (ln(c+1)/ln(k+1)) × (max − min),
    /// floored to whole milliseconds and never below min (memberlist `remainingSuspicionTime`
    /// before it subtracts the elapsed time).
    static func timeoutMilliseconds(confirmations: Int, expected: Int, minimum: UInt64, maximum: UInt64) -> UInt64 {
        guard expected > 0 else { return minimum }
        let fraction = log(Double(confirmations) + 1) / log(Double(expected) + 1)
        let raw = Double(maximum) - fraction * (Double(maximum) - Double(minimum))
        let floored = raw.rounded(.down)
        return floored < Double(minimum) ? minimum : UInt64(floored)
    }

    /// memberlist `suspicionTimeout`: `multiplier × max(1, log10(max(1, n))) × probeInterval`,
    /// the log factor truncated to thousandths as Go does.
    static func minimumTimeoutMilliseconds(suspicionMultiplier: Int, nodeCount: Int,
                                           probeIntervalMilliseconds: UInt64) -> UInt64 {
        let nodeScale = max(1.0, log10(max(1.0, Double(nodeCount))))
        let scaledThousandths = UInt64(nodeScale * 1000)
        return UInt64(suspicionMultiplier) * scaledThousandths * probeIntervalMilliseconds / 1000
    }

    /// Confirmations to expect in a cluster of `nodeCount`: `multiplier − 2`, or none when
    /// there are not that many other nodes (the suspect and ourselves excluded).
    static func expectedConfirmations(suspicionMultiplier: Int, nodeCount: Int) -> Int {
        let wanted = suspicionMultiplier - 2
        return nodeCount - 2 < wanted ? 0 : max(0, wanted)
    }
}
