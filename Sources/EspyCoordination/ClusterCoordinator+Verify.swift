import EspyAPI
import EspyCluster
import EspyCore
import EspyWire

extension ClusterCoordinator {
    /// A plan for `read_consistency = "verified"`: digests of every partition's readable
    /// replicas are compared first (`ReadVerification` decides), replicas that differ are
    /// repaired, and the plan reads only replicas known to hold every acknowledged record.
    func verifiedPlan(completion: @escaping (QueryPlan, ReadVerification) -> Void) {
        metrics.verifiedReads.increment()
        let plan = queryPlan()
        var verification = ReadVerification(plan: plan, quorum: quorum) { self.map.replicas(of: $0).count }
        var finished = false

        func finishIfDone() {
            guard verification.isFinished, !finished else { return }
            finished = true
            metrics.readRepairs.increment(by: verification.repairedPartitions)
            // Replicas that agree, as they do but for moments after a write, keep the cached plan.
            completion(verification.excluded.isEmpty ? plan : makePlan(unverified: verification.excluded), verification)
        }

        func repair() {
            for (target, repairs) in verification.repairs.sorted(by: { $0.key < $1.key }) {
                pull(repairs, into: target) { succeeded in
                    verification.repairEnded(at: target, succeeded: succeeded)
                    finishIfDone()
                }
            }
        }

        for (node, partitions) in verification.digestRequests.sorted(by: { $0.key < $1.key }) {
            digests(of: partitions, at: node) { held in
                if let held { verification.digestsArrived(held, from: node) } else { verification.digestsFailed(from: node) }
                if verification.isDecided { repair() }
                finishIfDone()
            }
        }
        finishIfDone()
    }

    /// `node`'s digests of `partitions` (nil if it did not answer). Taken before the query's
    /// reads are sent, so that each read covers at least what its digest did.
    private func digests(of partitions: [Int], at node: MemberName, completion: @escaping ([Int: PartitionDigest]?) -> Void) {
        if node == selfName {
            var held: [Int: PartitionDigest] = [:]
            for partition in partitions { held[partition] = shard.digests[partition] }
            return completion(held)
        }
        guard let address = httpAddresses[node] else { return completion(nil) }
        metrics.subRequests.increment()
        client.request(.post, "/internal/v1/repair/digests", to: address, body: Array(InternalWire.partitionsParameter(partitions).utf8),
                       timeoutMilliseconds: subRequestTimeoutMilliseconds) { result in
            guard case .success(let response) = result, response.status == 200 else { return completion(nil) }
            completion(InternalWire.decodeDigests(response.body))
        }
    }

    /// Has `target` pull what it lacks of each repair's partition from the repair's source.
    private func pull(_ repairs: [PartitionReplica], into target: MemberName, completion: @escaping (Bool) -> Void) {
        if target == selfName { return pullLocally(repairs, completion) }
        guard let address = httpAddresses[target] else { return completion(false) }
        metrics.subRequests.increment()
        client.request(.post, "/internal/v1/repair/pull", to: address, body: InternalWire.encodeRepairs(repairs),
                       timeoutMilliseconds: subRequestTimeoutMilliseconds * 3) { result in
            guard case .success(let response) = result, response.status == 200 else { return completion(false) }
            completion(true)
        }
    }
}

extension ReadVerification {
    /// Marks an answer's coverage as verified, with what was repaired.
    func describe(in coverage: inout Coverage) {
        coverage.readConsistency = .verified
        coverage.partitionsRepaired = repairedPartitions
    }
}
