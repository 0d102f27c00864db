import EspyCore

/// The pure core of `read_consistency = "verified"`: which replicas a query may read so that
/// no acknowledged record is missed, decided from their partition digests before reading.
///
/// A record acknowledged under quorum W is on W of a partition's N replicas, so any N − W + 1
/// of them include one that holds it. Digests are asked of the readable replicas; where at
/// least that many answered and all agree, any of them may be read (each answered before the
/// read was sent, and replicas only gain records). Where they differ, the one holding most
/// pulls what the others hold and is the only one read; where too few answered, none is, and
/// the partition is reported missing rather than counted short.
public struct ReadVerification: Sendable {
    /// Per node, the partitions whose digests to ask it for, ascending.
    public let digestRequests: [MemberName: [Int]]
    /// Per target, the replicas it must pull from before it is read, by partition; filled once
    /// every digest request has ended.
    public private(set) var repairs: [MemberName: [PartitionReplica]] = [:]
    /// Replicas not to be read: pass to the query plan as not readable.
    public private(set) var excluded: Set<PartitionReplica> = []
    /// Partitions whose replicas differed and were repaired.
    public private(set) var repairedPartitions = 0
    /// Partitions with too few replicas answering to be sure of any: none of them is read.
    public private(set) var unverifiablePartitions = 0

    /// By partition: the replicas compared (empty: not verified), how many of them must answer,
    /// and their digests as they arrive, in the replicas' order.
    private let candidates: [[MemberName]]
    private let needed: [Int]
    private var digests: [[PartitionDigest?]]
    /// Per node, where its answers go: (partition, index among the partition's candidates).
    private let slots: [MemberName: [(partition: Int, index: Int)]]
    private var awaitingDigests: Set<MemberName>
    private var awaitingRepairs: Set<MemberName> = []

    /// - Parameters:
    ///   - plan: the query's plan, whose readable replicas are the ones compared.
    ///   - replicaCount: how many replicas the map gives a partition, readable or not.
    public init(plan: QueryPlan, quorum: WriteQuorum, replicaCount: (Int) -> Int) {
        let size = (plan.plannedPartitions.last ?? -1) + 1
        var candidates = Array(repeating: [MemberName](), count: size)
        var needed = Array(repeating: 0, count: size)
        var slots: [MemberName: [(partition: Int, index: Int)]] = [:]
        for partition in plan.plannedPartitions {
            let replicas = replicaCount(partition)
            let enough = replicas - quorum.required(replicaCount: replicas) + 1
            let readable = plan.readableReplicas(of: partition)
            // With every replica in the write quorum, each one holds everything acknowledged.
            guard enough > 1, !readable.isEmpty else { continue }
            candidates[partition] = readable
            needed[partition] = enough
            for (index, replica) in readable.enumerated() { slots[replica, default: []].append((partition, index)) }
        }
        self.candidates = candidates
        self.needed = needed
        digests = candidates.map { Array(repeating: nil, count: $0.count) }
        self.slots = slots
        digestRequests = slots.mapValues { $0.map(\.partition) }
        awaitingDigests = Set(slots.keys)
        if awaitingDigests.isEmpty { decide() }
    }

    /// Every digest request and repair has ended: `excluded` is final.
    public var isFinished: Bool { awaitingDigests.isEmpty && awaitingRepairs.isEmpty }

    /// Whether the digests are all in (repairs may follow).
    public var isDecided: Bool { awaitingDigests.isEmpty }

    /// `node`'s digests of the partitions it was asked about; a partition it does not list it
    /// does not hold (an empty digest).
    public mutating func digestsArrived(_ held: [Int: PartitionDigest], from node: MemberName) {
        guard awaitingDigests.remove(node) != nil else { return }
        for (partition, index) in slots[node] ?? [] {
            digests[partition][index] = held[partition] ?? PartitionDigest()
        }
        if awaitingDigests.isEmpty { decide() }
    }

    /// `node` did not answer: it is not read for any partition it was asked about.
    public mutating func digestsFailed(from node: MemberName) {
        guard awaitingDigests.remove(node) != nil else { return }
        if awaitingDigests.isEmpty { decide() }
    }

    /// `target` pulled everything in `repairs[target]`, or did not: then it is not read for
    /// those partitions either, and they have no replica to read.
    public mutating func repairEnded(at target: MemberName, succeeded: Bool) {
        guard awaitingRepairs.remove(target) != nil else { return }
        guard !succeeded else { return }
        for partition in Set((repairs[target] ?? []).map(\.partition)) {
            excluded.insert(PartitionReplica(partition: partition, member: target))
            repairedPartitions -= 1
            unverifiablePartitions += 1
        }
    }

    private mutating func decide() {
        for (partition, replicas) in candidates.enumerated() where !replicas.isEmpty {
            let answers = zip(replicas, digests[partition]).compactMap { replica, digest in digest.map { (replica, $0) } }
            if answers.count < needed[partition] {
                unverifiablePartitions += 1
                for replica in replicas { excluded.insert(PartitionReplica(partition: partition, member: replica)) }
                continue
            }
            // The replica holding the most pulls the least: a restarted or cut-off replica is
            // far behind, while an in-flight write leaves one replica short by a batch.
            var (target, targetDigest) = answers[0]
            for (replica, digest) in answers.dropFirst() where digest.count > targetDigest.count {
                (target, targetDigest) = (replica, digest)
            }
            let sources = answers.filter { $0.1 != targetDigest }.map(\.0)
            if sources.isEmpty {
                for (replica, digest) in zip(replicas, digests[partition]) where digest == nil {
                    excluded.insert(PartitionReplica(partition: partition, member: replica))
                }
                continue
            }
            repairedPartitions += 1
            repairs[target, default: []] += sources.map { PartitionReplica(partition: partition, member: $0) }
            for replica in replicas where replica != target {
                excluded.insert(PartitionReplica(partition: partition, member: replica))
            }
        }
        awaitingRepairs = Set(repairs.keys)
    }
}
