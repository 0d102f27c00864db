import EspyCluster
import EspyCoordination
import EspyLoop

/// Config `[cluster]`: placement, write quorum and the timeouts that move work between members.
/// Every default is the one the cluster types use without configuration.
public struct ClusterSettings: Equatable {
    /// Fixed for the life of the data, and the same on every node.
    public var partitions = MembershipView.defaultPartitionCount
    /// Replicas of each partition in every datacenter.
    public var replicasPerDatacenter = PartitionMap.defaultReplicasPerDatacenter
    public var writeQuorum = WriteQuorum.default
    /// What a query that does not say gets: `one` replica per partition, or `verified` against the others first.
    public var readConsistency = ReadConsistency.default
    /// How long a failed member keeps its partitions before they move to the others.
    public var failureTimeout = OwnershipRule.defaultFailureTimeout
    /// How long a node waits for a peer's answer to a count or replica write before asking
    /// another replica (counts) or keeping a hint (writes).
    public var subRequestTimeoutMilliseconds = ClusterCoordinator.defaultSubRequestTimeoutMilliseconds
    /// The same for a count that reads a peer's records (an undeclared path, or `limit`).
    public var scanTimeoutMilliseconds = ClusterCoordinator.defaultScanTimeoutMilliseconds
    /// The cluster keyring (base64, validated at load): the first signs node-to-node requests,
    /// every one verifies. Empty: internal requests are served to member addresses and this host only.
    public var keys: [String] = []
    /// Where node-to-node requests (`/internal/v1/*`) are served instead of the HTTP address,
    /// so they can sit on a network clients cannot reach; nil: the HTTP address serves them.
    public var internalAddress: SocketAddress?

    public init() {}

    var membershipSettings: ClusterMembership.Settings {
        ClusterMembership.Settings(partitionCount: partitions, ownershipRule: OwnershipRule(failureTimeout: failureTimeout))
    }
}
