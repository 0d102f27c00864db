import EspyCore

/// One anti-entropy pass of one node over every partition it owns or still holds: the pure core
/// of replica repair, catch-up and handoff. No I/O and no clock; the shell fetches digests and
/// moves records, and reports back.
///
/// - For a partition this node **owns**, it compares digests with each other live owner and,
///   where they differ, pulls what it lacks. Each owner does the same in its own rounds, so all
///   end up with the union, and no record crosses the network twice (two owners pushing the
///   same records to a third that is pulling them too would).
/// - For a partition it **holds but no longer owns** (the map moved it, or this node is
///   leaving), it pushes what the owners lack; once every owner is live and has confirmed
///   holding the data, the partition may be dropped here.
///
/// When the round is finished, `synced` tells which owned partitions were brought into agreement
/// with every live peer: a replica that is catching up becomes readable then.
public struct RepairRound: Sendable {
    public enum Direction: Hashable, Sendable {
        /// This node takes what the peer has and it lacks: repair of an owned partition.
        case pull
        /// The peer gets what this node has and it lacks: handoff of a partition that moved away.
        case push
    }

    /// Move the records one side lacks, in `direction`.
    public struct Task: Hashable, Sendable {
        public let partition: Int
        public let peer: MemberName
        public let direction: Direction

        public init(partition: Int, peer: MemberName, direction: Direction) {
            self.partition = partition
            self.peer = peer
            self.direction = direction
        }
    }

    public let selfName: MemberName
    /// Per live peer, the partitions whose digests to ask it for, ascending.
    public let comparisons: [MemberName: [Int]]

    private let owned: Set<Int>
    private let handedOff: Set<Int>
    /// Live peers each partition must be in agreement with.
    private let peersOf: [Int: [MemberName]]
    /// Held-but-not-owned partitions some owner of which is down: they cannot be dropped yet.
    private let blocked: Set<Int>
    private var awaitingDigests: Set<MemberName>
    private var openTasks: Set<Task> = []
    private var confirmed: Set<PartitionReplica> = []

    /// - Parameters:
    ///   - map: the partition map this node currently uses.
    ///   - routable: members that are alive (self is added).
    ///   - held: partitions with records in this node's shard.
    public init(map: PartitionMap, selfName: MemberName, routable: Set<MemberName>, held: Set<Int>) {
        var comparisons: [MemberName: [Int]] = [:]
        var peersOf: [Int: [MemberName]] = [:]
        var owned = Set<Int>()
        var handedOff = Set<Int>()
        var blocked = Set<Int>()
        for partition in 0..<map.partitionCount {
            let replicas = map.replicas(of: partition)
            let owns = replicas.contains(selfName)
            guard owns || held.contains(partition) else { continue }
            if owns { owned.insert(partition) } else { handedOff.insert(partition) }
            let peers = replicas.filter { $0 != selfName && routable.contains($0) }
            if !owns && (replicas.isEmpty || peers.count < replicas.count) { blocked.insert(partition) }
            peersOf[partition] = peers
            for peer in peers { comparisons[peer, default: []].append(partition) }
        }
        self.selfName = selfName
        self.comparisons = comparisons
        self.owned = owned
        self.handedOff = handedOff
        self.peersOf = peersOf
        self.blocked = blocked
        self.awaitingDigests = Set(comparisons.keys)
    }

    /// `peer` answered with its digests (absent: it holds nothing of that partition). Returns the
    /// partitions to reconcile with it; equal digests count as confirmed at once.
    public mutating func onDigests(from peer: MemberName, remote: [Int: PartitionDigest],
                                   local: [Int: PartitionDigest]) -> [Task] {
        guard awaitingDigests.remove(peer) != nil else { return [] }
        var tasks: [Task] = []
        for partition in comparisons[peer] ?? [] {
            let ours = local[partition] ?? PartitionDigest()
            let theirs = remote[partition] ?? PartitionDigest()
            if ours == theirs || (handedOff.contains(partition) && ours.count == 0) {
                confirmed.insert(PartitionReplica(partition: partition, member: peer))
            } else {
                let task = Task(partition: partition, peer: peer, direction: owned.contains(partition) ? .pull : .push)
                openTasks.insert(task)
                tasks.append(task)
            }
        }
        return tasks
    }

    /// `peer` did not answer for its digests: nothing is confirmed with it this round.
    public mutating func onDigestsFailed(from peer: MemberName) {
        awaitingDigests.remove(peer)
    }

    public mutating func onTaskFinished(_ task: Task, succeeded: Bool) {
        guard openTasks.remove(task) != nil, succeeded else { return }
        confirmed.insert(PartitionReplica(partition: task.partition, member: task.peer))
    }

    public var isFinished: Bool { awaitingDigests.isEmpty && openTasks.isEmpty }

    /// Of `partitions` (owned ones), those in agreement with every live peer this round.
    public func synced(among partitions: Set<Int>) -> Set<Int> {
        partitions.filter { partition in
            guard owned.contains(partition) else { return false }
            return (peersOf[partition] ?? []).allSatisfy { confirmed.contains(PartitionReplica(partition: partition, member: $0)) }
        }
    }

    /// Partitions held here but owned elsewhere whose every owner is live and confirmed holding
    /// what this node had: safe to delete here.
    public var droppable: [Int] {
        handedOff.filter { partition in
            !blocked.contains(partition)
                && (peersOf[partition] ?? []).allSatisfy { confirmed.contains(PartitionReplica(partition: partition, member: $0)) }
        }.sorted()
    }

    /// Partitions held here that still wait to be handed off to their owners.
    public var handoffPending: Int { handedOff.count }
}
