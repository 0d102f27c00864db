import EspyAPI
import EspyCluster
import EspyCore
import EspyLoop
import EspyStorage
import EspyWire

/// One reconciliation: this node and a peer exchange bucket digests of a partition, then only
/// the records the receiving side lacks move, in batches, under the rate limit.
extension ReplicaRepairer {
    func reconcile(_ task: RepairRound.Task, completion: @escaping (Bool) -> Void) {
        guard let address = coordinator.httpAddresses[task.peer] else { return completion(false) }
        coordinator.shard.ids(inPartition: task.partition) { [self] result in
            guard case .success(let localIDs) = result else { return completion(false) }
            let body = Array(BucketDigests(ids: localIDs).description.utf8)
            coordinator.client.request(.post, "/internal/v1/repair/diff?partition=\(task.partition)", to: address, body: body) { [self] result in
                guard case .success(let response) = result, response.status == 200,
                      let remoteIDs = InternalWire.decodeIDs(response.body) else {
                    return completion(false)
                }
                let differing = InternalWire.parseBuckets(response.headers[InternalWire.differingBucketsHeader] ?? "")
                let remote = Set(remoteIDs)
                let local = Set(localIDs.lazy.filter { differing.contains(BucketDigests.bucket(of: $0)) })
                switch task.direction {
                case .pull:
                    pull(remoteIDs.filter { !local.contains($0) }[...], from: address, completion: completion)
                case .push:
                    let missing = local.filter { !remote.contains($0) }.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
                    push(missing[...], to: address, completion: completion)
                }
            }
        }
    }

    func pull(_ ids: ArraySlice<RecordID>, from address: SocketAddress, completion: @escaping (Bool) -> Void) {
        guard !ids.isEmpty else { return completion(true) }
        let batch = ids.prefix(settings.batchSize)
        throttle(batch.count) { [self] in
            coordinator.client.request(.post, "/internal/v1/repair/fetch", to: address,
                                       body: InternalWire.encodeIDs(Array(batch))) { [self] result in
                guard case .success(let response) = result, response.status == 200 else { return completion(false) }
                let body = response.body
                let partitionCount = coordinator.partitionCount
                coordinator.loop.runBlocking({ RecordBatch(storedRecords: body, partitionCount: partitionCount) }) { [self] records in
                    guard records.rejections.isEmpty else {
                        logger.error("repair: peer sent invalid records", metadata: ["cluster/reason": "\(records.rejections[0].reason)"])
                        return completion(false)
                    }
                    coordinator.shard.write(records.records) { [self] result in
                        if case .failure(let error) = result {
                            coordinator.noteLocalWrite(partitions: Set(records.records.map(\.partition)), failure: error.message)
                            return completion(false)
                        }
                        metrics.recordsPulled.increment(by: records.records.count)
                        recordsPulled += records.records.count
                        metrics.bytesMoved.increment(by: body.count)
                        pull(ids.dropFirst(batch.count), from: address, completion: completion)
                    }
                }
            }
        }
    }

    func push(_ ids: ArraySlice<RecordID>, to address: SocketAddress, completion: @escaping (Bool) -> Void) {
        guard !ids.isEmpty else { return completion(true) }
        let batch = ids.prefix(settings.batchSize)
        throttle(batch.count) { [self] in
            coordinator.shard.storedRecords(ids: Array(batch)) { [self] result in
                guard case .success(let ndjson) = result else { return completion(false) }
                coordinator.client.request(.post, "/internal/v1/records", to: address,
                                           headers: coordinator.replicaRecordsHeaders, body: ndjson) { [self] result in
                    guard case .success(let response) = result, response.status == 200 else { return completion(false) }
                    metrics.recordsPushed.increment(by: batch.count)
                    recordsPushed += batch.count
                    metrics.bytesMoved.increment(by: ndjson.count)
                    push(ids.dropFirst(batch.count), to: address, completion: completion)
                }
            }
        }
    }

    /// Runs `body` once the rate limit allows `records` more.
    private func throttle(_ records: Int, _ body: @escaping () -> Void) {
        let wait = limiter.take(records, now: coordinator.loop.nowMilliseconds)
        guard wait > 0 else { return body() }
        let timer = EspyLoop.Timer(loop: coordinator.loop)
        let key = ObjectIdentifier(timer)
        waits[key] = timer
        timer.start(after: wait) { [self] in
            waits.removeValue(forKey: key)?.close()
            body()
        }
    }
}

extension ReplicaRepairer {
    /// Read repair for a verified query: pulls each partition's records this node lacks from
    /// the named replica, and completes (true once every pull succeeded) so that the query can
    /// read this node. Then, in the background, gives those replicas what they lack, so the
    /// next verified query finds them agreeing. Both run `concurrentTasks` at a time under the
    /// same rate limit as anti-entropy.
    public func pull(_ repairs: [PartitionReplica], completion: @escaping (Bool) -> Void) {
        let pulls = repairs.map { RepairRound.Task(partition: $0.partition, peer: $0.member, direction: .pull) }
        run(pulls) { [self] succeeded in
            completion(succeeded)
            guard succeeded else { return }
            run(repairs.map { RepairRound.Task(partition: $0.partition, peer: $0.member, direction: .push) }) { _ in }
        }
    }

    private func run(_ tasks: [RepairRound.Task], completion: @escaping (Bool) -> Void) {
        guard !tasks.isEmpty else { return completion(true) }
        var next = 0
        var running = 0
        var succeeded = true
        func startMore() {
            while running < Self.concurrentTasks, next < tasks.count {
                let task = tasks[next]
                next += 1
                running += 1
                reconcile(task) { ok in
                    running -= 1
                    succeeded = succeeded && ok
                    if running == 0 && next == tasks.count { return completion(succeeded) }
                    startMore()
                }
            }
        }
        startMore()
    }
}
