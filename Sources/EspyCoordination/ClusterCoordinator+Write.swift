import EspyAPI
import EspyCluster
import EspyCore
import EspyHTTP
import EspyLoop
import EspyWire
import Foundation
import Logging

extension ClusterCoordinator {
    /// Sends each record to every replica of its partition in parallel and completes when every
    /// record has reached its quorum or cannot; nothing is reported stored that is not
    /// committed on a quorum.
    public func store(_ records: [PreparedRecord], completion: @escaping (StoreOutcome) -> Void) {
        _ = carryOut(membership.placementForRequest(now: Timestamp.now()))
        let plan = WritePlan(recordPartitions: records.map(\.partition), map: map, routable: writable, quorum: quorum)
        var tracker = WriteTracker(plan: plan, awaiting: selfName)
        // Per replica, the batch positions it stored for the first time; each record's counting
        // replica (the tracker's `committed.first`) says whether it is new.
        var newlyStoredBy: [MemberName: Set<Int>] = [:]
        var finished = false
        func finish(_ result: WriteResult) {
            guard !finished else { return }
            finished = true
            var outcome = StoreOutcome()
            for (index, record) in result.outcomes.enumerated() {
                if record.verdict == .acknowledged {
                    let isNew = record.committed.first.flatMap { newlyStoredBy[$0]?.contains(index) } ?? false
                    if isNew { outcome.stored += 1 } else { outcome.duplicates += 1 }
                } else {
                    metrics.quorumFailures.increment()
                    outcome.failed.append((index, Self.quorumFailure(record)))
                }
            }
            completion(outcome)
        }
        if logger.logLevel <= .debug {
            let unreachable = Set(plan.targets.values.flatMap(\.unreachable)).map(\.description).sorted()
            if !unreachable.isEmpty {
                logger.debug("writing around replicas that are down", metadata: ["cluster/down": "\(unreachable.joined(separator: ","))"])
            }
        }
        // Replica writes that cannot happen or fail become hints, replayed when the replica is back.
        var missed: [MemberName: [Int]] = [:]
        for (index, record) in records.enumerated() {
            for node in plan.targets[record.partition]?.unreachable ?? [] { missed[node, default: []].append(index) }
        }
        var groupsLeft = plan.groups.count
        func groupSettled() {
            groupsLeft -= 1
            if groupsLeft == 0 { keepHints(missed, of: records) }
        }
        if plan.groups.isEmpty { keepHints(missed, of: records) }
        if let result = tracker.result { return finish(result) }
        for group in plan.groups {
            let subset = group.recordIndices.map { records[$0] }
            send(subset, to: group.node) { flags in
                if let flags {
                    newlyStoredBy[group.node] = Set(zip(group.recordIndices, flags).lazy.filter(\.1).map(\.0))
                } else if group.node != self.selfName {
                    missed[group.node, default: []].append(contentsOf: group.recordIndices)
                }
                defer { groupSettled() }
                if case .respond(let result) = tracker.onGroupResult(from: group.node, flags == nil ? .failed : .committed) {
                    finish(result)
                }
            }
        }
    }

    /// Says exactly where the record is: committed, failed, or still being written when the
    /// quorum became impossible (it may yet be stored there; retrying is safe, writes are
    /// idempotent by record id).
    static func quorumFailure(_ record: RecordWriteOutcome) -> String {
        func names(_ members: [MemberName]) -> String { members.map(\.description).joined(separator: ", ") }
        var text = "\(record.committed.count) of \(record.required) required replicas committed"
        if !record.committed.isEmpty { text += "; committed on \(names(record.committed))" }
        if !record.failed.isEmpty { text += "; failed or down: \(names(record.failed))" }
        if !record.unanswered.isEmpty { text += "; not answered yet: \(names(record.unanswered))" }
        return text
    }

    /// Keeps hints for the replicas that missed records of this write, in this node's shard.
    private func keepHints(_ missed: [MemberName: [Int]], of records: [PreparedRecord]) {
        for (node, indices) in missed where node != selfName {
            metrics.hintsKept.increment(by: indices.count)
            tell(node, itMissed: Set(indices.map { records[$0].partition }))
            shard.addHints(indices.map { records[$0] }, for: node.rawValue, now: Timestamp.now()) { [logger] result in
                if case .failure(let error) = result {
                    logger.error("keeping hints failed", metadata: ["cluster/node": "\(node)", "storage/error": "\(error)"])
                }
            }
        }
    }

    /// Tells a replica which partitions it missed writes to, so that it stops being read for
    /// them: a write that timed out or was refused may never have reached it, and then only
    /// this node knows. Best effort: a replica this cannot reach is suspected or partitioned,
    /// and finds out by refuting, or by the hints when they are delivered.
    private func tell(_ node: MemberName, itMissed partitions: Set<Int>) {
        guard let address = httpAddresses[node], routable.contains(node) || writable.contains(node) else { return }
        client.request(.post, "/internal/v1/missed", to: address, body: Array(InternalWire.partitionsParameter(partitions.sorted()).utf8),
                       timeoutMilliseconds: subRequestTimeoutMilliseconds) { _ in }
    }

    /// Stores `records` on `node`; completes with per-record "newly stored" flags, or nil on failure.
    private func send(_ records: [PreparedRecord], to node: MemberName, completion: @escaping ([Bool]?) -> Void) {
        if node == selfName {
            shard.write(records) { [self] result in
                switch result {
                case .success(let outcome):
                    noteLocalWrite(partitions: [], failure: nil)
                    completion(outcome.newlyStored)
                case .failure(let error):
                    noteLocalWrite(partitions: Set(records.map(\.partition)), failure: error.message)
                    completion(nil)
                }
            }
            return
        }
        guard let address = httpAddresses[node] else {
            logger.warning("no HTTP address for replica", metadata: ["cluster/node": "\(node)"])
            return completion(nil)
        }
        // Serialising a big batch takes milliseconds; off the loop, like validation.
        if records.count > ClusterCoordinator.inlineEncodingLimit {
            loop.runBlocking({ InternalWire.encode(records) }) { [self] body in post(body, count: records.count, to: node, at: address, completion) }
        } else {
            post(InternalWire.encode(records), count: records.count, to: node, at: address, completion)
        }
    }

    /// Groups up to this many records are encoded on the loop; a hop through the thread pool costs more.
    static let inlineEncodingLimit = 100

    private func post(_ body: [UInt8], count: Int, to node: MemberName, at address: SocketAddress,
                      _ completion: @escaping ([Bool]?) -> Void) {
        client.request(.post, "/internal/v1/records", to: address, headers: replicaRecordsHeaders,
                       body: body, timeoutMilliseconds: subRequestTimeoutMilliseconds) { [logger, metrics] result in
            guard case .success(let response) = result, response.status == 200,
                  let answer = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
                  let flags = answer["new"] as? String, flags.count == count else {
                // A refusal says why (a 401 names a cluster key mismatch); a timeout or lost peer has no answer.
                var metadata: Logger.Metadata = ["cluster/node": "\(node)", "cluster/records": "\(count)"]
                if case .success(let response) = result, response.status != 200 {
                    metadata["http/status"] = "\(response.status)"
                    metadata["http/reason"] = "\(String(decoding: response.body.prefix(200), as: UTF8.self))"
                } else if case .failure(let error) = result {
                    metadata["http/error"] = "\(error)"
                }
                logger.warning("replica write failed", metadata: metadata)
                metrics.replicaWriteFailures.increment()
                return completion(nil)
            }
            completion(flags.map { $0 == "1" })
        }
    }
}
