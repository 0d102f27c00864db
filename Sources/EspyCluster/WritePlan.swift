/// Where each record of an import batch goes: to every replica of its partition, grouped into
/// one request per node, so a batch costs one round trip per node however many records it holds.
///
/// Replicas that are not routable (suspect, dead) get nothing and count as failed from the
/// start: the write routes around them, and the quorum decides whether that is still enough.
public struct WritePlan: Hashable, Sendable {
    /// One node's share of the batch.
    public struct Group: Hashable, Sendable {
        public let node: MemberName
        /// Indices into the batch, ascending; every record whose partition the node replicates.
        public let recordIndices: [Int]
    }

    /// What the batch needs from one partition's replicas.
    public struct PartitionTarget: Hashable, Sendable {
        public let partition: Int
        /// All replicas, in `PartitionMap` order, reachable or not.
        public let replicas: [MemberName]
        /// The replicas that get no request because they are not routable.
        public let unreachable: [MemberName]
        /// Commits needed to acknowledge, out of `replicas.count`.
        public let required: Int
    }

    public let quorum: WriteQuorum
    /// Each record's partition, in batch order.
    public let recordPartitions: [Int]
    /// One entry per distinct partition in the batch.
    public let targets: [Int: PartitionTarget]
    /// The requests to send, by node name.
    public let groups: [Group]

    /// - Parameters:
    ///   - recordPartitions: each record's `RecordID.partition(of:)`, in batch order.
    ///   - routable: members requests may be sent to (the node passes `ClusterMembership.writable`: alive and suspect members).
    public init(recordPartitions: [Int], map: PartitionMap, routable: Set<MemberName>,
                quorum: WriteQuorum = .default) {
        var targets: [Int: PartitionTarget] = [:]
        var recordsByNode: [MemberName: [Int]] = [:]
        for (index, partition) in recordPartitions.enumerated() {
            let target: PartitionTarget
            if let known = targets[partition] {
                target = known
            } else {
                let replicas = map.replicas(of: partition)
                target = PartitionTarget(partition: partition, replicas: replicas,
                                         unreachable: replicas.filter { !routable.contains($0) },
                                         required: quorum.required(replicaCount: replicas.count))
                targets[partition] = target
            }
            for replica in target.replicas where routable.contains(replica) {
                recordsByNode[replica, default: []].append(index)
            }
        }
        self.quorum = quorum
        self.recordPartitions = recordPartitions
        self.targets = targets
        self.groups = recordsByNode.keys.sorted().map { Group(node: $0, recordIndices: recordsByNode[$0]!) }
    }
}
