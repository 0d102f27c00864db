import EspyCluster
import EspyCore

/// One import batch as it went: the quorum's verdicts and when the client had its answer.
public struct WriteOutcome: Sendable {
    public let coordinator: Int
    public let records: [RecordID]
    /// From the request to the answer (200 or 503).
    public let latencyMilliseconds: UInt64
    public let result: WriteResult
}

extension ClusterTraffic {
    /// Stores `records` as `ClusterCoordinator.store` does: a `WritePlan` over the writable
    /// members (alive and suspect), one request per replica node in parallel, a `WriteTracker`
    /// that answers once every record is decided (and the coordinator's own replica has
    /// answered), and hints for every replica the write skipped or that failed, kept once every
    /// group has settled.
    public func write(_ records: [RecordID], from coordinator: Int, quorum: WriteQuorum = .majority,
                      completion: @escaping (WriteOutcome) -> Void) {
        guard let membership = membership(coordinator), let map = map(coordinator) else {
            preconditionFailure("node \(coordinator) is not running")
        }
        let selfName = membership.selfName
        let startedAt = simulation.now.milliseconds
        let partitions = records.map { $0.partition(of: partitionCount) }
        let plan = WritePlan(recordPartitions: partitions, map: map, routable: membership.writable, quorum: quorum)
        var tracker = WriteTracker(plan: plan, awaiting: selfName)
        var finished = false
        func finish(_ result: WriteResult) {
            guard !finished else { return }
            finished = true
            completion(WriteOutcome(coordinator: coordinator, records: records,
                                    latencyMilliseconds: simulation.now.milliseconds - startedAt, result: result))
        }
        var missed: [MemberName: [Int]] = [:]
        for (index, partition) in partitions.enumerated() {
            for replica in plan.targets[partition]?.unreachable ?? [] { missed[replica, default: []].append(index) }
        }
        var groupsLeft = plan.groups.count
        func groupSettled() {
            groupsLeft -= 1
            if groupsLeft == 0 { keepHints(missed, of: records, at: coordinator) }
        }
        if plan.groups.isEmpty { keepHints(missed, of: records, at: coordinator) }
        // Every quorum already out of reach: the coordinator answers 503 and sends nothing.
        if let result = tracker.result { return finish(result) }
        for group in plan.groups {
            let target = node(named: group.node)
            let subset = group.recordIndices.map { records[$0] }
            call(from: coordinator, to: target, serve: { [unowned self] in
                shards[target].write(subset, partitionCount: partitionCount)
            }) { flags in
                if flags == nil, group.node != selfName { missed[group.node, default: []].append(contentsOf: group.recordIndices) }
                defer { groupSettled() }
                if case .respond(let result) = tracker.onGroupResult(from: group.node, flags == nil ? .failed : .committed) {
                    finish(result)
                }
            }
        }
    }

    private func keepHints(_ missed: [MemberName: [Int]], of records: [RecordID], at coordinator: Int) {
        for (replica, indices) in missed.sorted(by: { $0.key < $1.key }) where replica != memberName(coordinator) {
            hints[coordinator][node(named: replica), default: []].append(contentsOf: indices.map { records[$0] })
        }
    }
}
