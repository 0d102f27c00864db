/// How much of the cluster a query's answer covers: the `coverage` block of every answer.
public struct Coverage: Hashable, Sendable {
    public var partitionsTotal: Int
    /// Partitions whose answer was merged, each from exactly one replica.
    public var partitionsAnswered: Int
    /// Partitions no replica answered for, ascending.
    public var missingPartitions: [Int]
    /// Distinct nodes sent at least one sub-request.
    public var nodesQueried: Int
    /// Distinct nodes with at least one merged answer.
    public var nodesAnswered: Int
    /// Nodes that failed or timed out on a sub-request, by name. A node may be here and also
    /// counted in `nodesAnswered`, if an earlier sub-request of the same query succeeded.
    public var nodesFailed: [MemberName]
    /// Replicas of missing partitions that were not asked at all: known to be down, or not to
    /// be read yet (catching up), when the query was planned. By name.
    public var nodesUnavailable: [MemberName]
    /// Nodes that answered a sub-request with a 4xx: the request was at fault, not the node.
    public var nodesRefused: [MemberName]
    /// How the replicas read were chosen.
    public var readConsistency = ReadConsistency.one
    /// With `verified`: partitions whose replicas differed, so one pulled from the others before it was read.
    public var partitionsRepaired = 0

    public init(partitionsTotal: Int, partitionsAnswered: Int, missingPartitions: [Int],
                nodesQueried: Int, nodesAnswered: Int, nodesFailed: [MemberName], nodesUnavailable: [MemberName] = [],
                nodesRefused: [MemberName] = []) {
        self.partitionsTotal = partitionsTotal
        self.partitionsAnswered = partitionsAnswered
        self.missingPartitions = missingPartitions
        self.nodesQueried = nodesQueried
        self.nodesAnswered = nodesAnswered
        self.nodesFailed = nodesFailed
        self.nodesUnavailable = nodesUnavailable
        self.nodesRefused = nodesRefused
    }

    /// Some partition is not in the answer, so counts may be low.
    public var isPartial: Bool { partitionsAnswered < partitionsTotal }
}
