import EspyCore

/// Whether a member currently counts for partition placement.
///
/// Kept apart from `MemberStatus` on purpose: liveness flaps within seconds, and moving data on
/// every flap would be ruinous, so ownership changes only on real membership changes — a join, a
/// graceful leave, an operator removal, or a failure that outlasted `OwnershipRule.failureTimeout`.
/// It is an explicit field of `Member` (rather than computed from a clock inside placement) so
/// that `PartitionMap` is a function of the view alone: no `now`, and two nodes holding equal
/// views compute the same map.
public enum Ownership: String, Hashable, Sendable {
    /// Counts for placement: holds the partitions rendezvous hashing gives it.
    case owning
    /// Does not count: its partitions have moved to the other members.
    case released
}

/// How the node shell turns gossip facts into `Ownership` when it builds a `MembershipView`.
///
/// Each node applies this to the time *it* saw the member fail, so around the timeout nodes can
/// disagree for as long as their observations differ (seconds); the view digest shows it.
public struct OwnershipRule: Hashable, Sendable {
    /// Like Serf's reconnect timeout: long enough that a node restarted, rebooted or cut off by a
    /// network partition for hours comes back to its own data instead of triggering a full copy.
    public static let defaultFailureTimeout: Duration = .seconds(24 * 60 * 60)

    /// How long a member may stay `dead` before it loses its partitions. Gossip forgets dead
    /// members after about 30 s; that reaping must not shorten this, so the shell keeps failed
    /// members in the view until this has passed.
    public var failureTimeout: Duration

    public init(failureTimeout: Duration = OwnershipRule.defaultFailureTimeout) {
        precondition(failureTimeout >= .zero, "a failure timeout cannot be negative")
        self.failureTimeout = failureTimeout
    }

    /// - Parameters:
    ///   - status: the member's current status.
    ///   - statusSince: when it entered that status (for `dead`: when this node saw it fail).
    ///   - now: the shell's clock; the rule reads no clock itself.
    ///   - removedByOperator: `espymetrics remove NODE` was run; releases at once, whatever the status.
    public func ownership(status: MemberStatus, statusSince: Timestamp, now: Timestamp,
                          removedByOperator: Bool = false) -> Ownership {
        if removedByOperator { return .released }
        switch status {
        case .alive, .suspect:
            return .owning
        case .left:
            return .released
        case .dead:
            let failedFor = now.microseconds - statusSince.microseconds
            return failedFor > failureTimeoutMicroseconds ? .released : .owning
        }
    }

    private var failureTimeoutMicroseconds: Int64 {
        let (seconds, attoseconds) = failureTimeout.components
        return seconds * Timestamp.microsecondsPerSecond + attoseconds / 1_000_000_000_000
    }
}
