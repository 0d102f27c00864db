/// A member's liveness: the one status type of gossip (memberlist's node states, Serf's member
/// states), the cluster layer and the API.
///
/// Liveness decides where requests are *routed*; it does not decide who *owns* partitions (see
/// `Ownership`). A suspect or dead node keeps its partitions, and requests go around it.
public enum MemberStatus: String, Hashable, Sendable, CaseIterable {
    /// Answering probes; requests are sent to it.
    case alive
    /// Missed a probe and is being suspected; not routed to, because it would likely time out.
    case suspect
    /// Declared failed by gossip. Keeps its partitions until the failure timeout (it may be restarting).
    case dead
    /// Left gracefully, or was removed by an operator (`espymetrics remove`, Serf's force-leave).
    case left

    /// Whether requests are routed to a member in this state.
    public var isRoutable: Bool { self == .alive }
}
