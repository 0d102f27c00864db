/// Decides, from the nodes' answers to a `WritePlan`'s requests, which records are acknowledged.
///
/// Fed one event per node (its whole group committed, or failed / timed out), it answers with an
/// `Action`. A record is acknowledged once `required` replicas committed it, and has failed its
/// quorum once the replicas still pending cannot make up the difference. The tracker responds as
/// soon as every record is decided — at the latest when every node has answered or timed out —
/// so one slow replica does not delay a batch that already has its quorum. Nothing is reported
/// acknowledged that is not committed on a quorum.
///
/// Two exceptions to "as soon as":
/// - The coordinator's own replica (`awaiting`): until it has committed or failed (and marked
///   what it missed), a count at the coordinator would read its shard without the records just
///   acknowledged.
/// - Each partition's first routable replica in `PartitionMap` order, its *counting replica*:
///   whether a record is new (the answer's `stored` against `duplicates`) is what the first
///   replica in `committed` says. Every coordinator asks the same replica first, so when the
///   same records arrive twice at once, that replica's shard decides which copy was first and
///   only one counts them as stored. If the counting replica fails, the next committed one in
///   order decides. A `one` quorum does not wait: acknowledging the first commit is what it
///   asks for, and then the first replica in `committed` decides.
public struct WriteTracker: Sendable {
    /// How a node answered for its whole group.
    public enum GroupResult: Hashable, Sendable {
        case committed
        /// An error status, a broken connection, or the request timeout.
        case failed
    }

    public enum Action: Hashable, Sendable {
        /// Some record is still undecided.
        case keepWaiting
        /// Every record is decided: answer the client (503 unless `result.allAcknowledged`).
        /// Returned exactly once; requests still in flight may finish, their answers are ignored.
        case respond(WriteResult)
        /// The answer already went out; nothing to do.
        case alreadyResponded
    }

    private enum ReplicaState: Hashable, Sendable { case pending, committed, failed }

    private struct PartitionState: Hashable, Sendable {
        let target: WritePlan.PartitionTarget
        var replicaStates: [ReplicaState]

        var committedCount: Int { replicaStates.lazy.filter { $0 == .committed }.count }
        var pendingCount: Int { replicaStates.lazy.filter { $0 == .pending }.count }

        /// The replica to wait for: the first one requests were sent to (nil: none, or no waiting).
        let countingIndex: Int?

        var verdict: RecordWriteOutcome.Verdict? {
            if committedCount >= target.required { return .acknowledged }
            if committedCount + pendingCount < target.required { return .failedQuorum }
            return nil
        }

        /// Decided, and for an acknowledged record also told by its counting replica whether it is new.
        var isSettled: Bool {
            switch verdict {
            case nil: false
            case .failedQuorum: true
            case .acknowledged: countingIndex.map { replicaStates[$0] != .pending } ?? true
            }
        }

        func replicas(in state: ReplicaState) -> [MemberName] {
            zip(target.replicas, replicaStates).filter { $0.1 == state }.map(\.0)
        }
    }

    private let recordPartitions: [Int]
    private var partitions: [Int: PartitionState]
    private var undecided: Set<Int>
    private var answered: Set<MemberName> = []
    private let partitionsByNode: [MemberName: [Int]]
    private var awaited: MemberName?

    /// Set once every record is decided. Already set right after `init` when nothing depends on
    /// an answer (an empty batch, or every quorum already unreachable): respond without sending.
    public private(set) var result: WriteResult?

    public init(plan: WritePlan, awaiting coordinator: MemberName? = nil) {
        var partitions: [Int: PartitionState] = [:]
        var partitionsByNode: [MemberName: [Int]] = [:]
        for (partition, target) in plan.targets {
            let states = target.replicas.map { target.unreachable.contains($0) ? ReplicaState.failed : .pending }
            let countingIndex = target.required > 1 ? states.firstIndex(of: .pending) : nil
            partitions[partition] = PartitionState(target: target, replicaStates: states, countingIndex: countingIndex)
            for (replica, state) in zip(target.replicas, states) where state == .pending {
                partitionsByNode[replica, default: []].append(partition)
            }
        }
        self.recordPartitions = plan.recordPartitions
        self.partitions = partitions
        self.partitionsByNode = partitionsByNode
        self.awaited = coordinator.flatMap { partitionsByNode[$0] == nil ? nil : $0 }
        self.undecided = Set(partitions.filter { !$0.value.isSettled }.keys)
        if undecided.isEmpty { result = makeResult() }  // nothing is sent then, so nothing to await
    }

    /// `node` answered for its group. A second answer from the same node, or one from a node that
    /// was sent nothing, changes nothing.
    public mutating func onGroupResult(from node: MemberName, _ groupResult: GroupResult) -> Action {
        if result != nil { return .alreadyResponded }
        guard let nodePartitions = partitionsByNode[node], answered.insert(node).inserted else { return .keepWaiting }
        let newState: ReplicaState = groupResult == .committed ? .committed : .failed
        for partition in nodePartitions {
            var state = partitions[partition]!
            for index in state.target.replicas.indices where state.target.replicas[index] == node {
                state.replicaStates[index] = newState
            }
            partitions[partition] = state
            if state.isSettled { undecided.remove(partition) }
        }
        if node == awaited { awaited = nil }
        guard undecided.isEmpty, awaited == nil else { return .keepWaiting }
        let result = makeResult()
        self.result = result
        return .respond(result)
    }

    private func makeResult() -> WriteResult {
        var outcomesByPartition: [Int: RecordWriteOutcome] = [:]
        for (partition, state) in partitions {
            outcomesByPartition[partition] = RecordWriteOutcome(
                partition: partition, verdict: state.verdict!, required: state.target.required,
                committed: state.replicas(in: .committed), failed: state.replicas(in: .failed),
                unanswered: state.replicas(in: .pending))
        }
        return WriteResult(outcomes: recordPartitions.map { outcomesByPartition[$0]! })
    }
}
