import EspyAPI
import EspyCluster
import EspyCore
import EspyHTTP
import EspyLoop
import EspyStorage
import EspyWire

extension ClusterCoordinator {
    /// One sub-request per node for the partitions it answers for; a node that fails has its
    /// partitions moved to the next live replica, and one slower than that peer's usual is
    /// hedged (asked of the next replicas too, within the hedge budget; the first answer wins).
    /// Partial counts add up; for `limit=N` every node returns its newest N and the global
    /// newest N are counted.
    public func count(_ query: CountQuery, consistency: ReadConsistency?, allowPartial: Bool, completion: @escaping (CountAnswer) -> Void) {
        guard (consistency ?? readConsistency) == .verified else { return count(query, plan: queryPlan(), completion: completion) }
        verifiedPlan { plan, verification in
            self.count(query, plan: plan) { answer in
                var answer = answer
                verification.describe(in: &answer.coverage)
                completion(answer)
            }
        }
    }

    /// Carries out a `ScatterGather`: sends what it says, feeds it what comes back.
    private func count(_ query: CountQuery, plan: QueryPlan, completion: @escaping (CountAnswer) -> Void) {
        let initial = plan.initialSubRequests
        // Everything is here (a one-node cluster, or a node holding every partition): the shard
        // answers directly, limits included, with no per-record merge.
        if initial.count == 1, initial[0].node == selfName, initial[0].partitions.count == partitionCount {
            var plan = plan
            shard.count(query) { result in
                switch result {
                case .success(let counts):
                    _ = plan.onAnswer(of: initial[0].id)
                    completion(CountAnswer(result: counts, coverage: plan.coverage))
                case .failure:
                    completion(CountAnswer(result: CountResult(), coverage: plan.coverage))
                }
            }
            return
        }
        var driver = ScatterGather<PartialCount>(plan: plan, hedgeCost: shard.readsFromRollups(query) ? HedgeTiming.scanningHedgeCost : 1)
        var hedgeTimer: EspyLoop.Timer?
        var registration: Int?

        func perform(_ actions: [ScatterGather<PartialCount>.Action]) {
            for action in actions {
                switch action {
                case .send(let subRequest, let reason):
                    if reason == .replanned { metrics.replans.increment(by: 1) }
                    if reason == .hedge { metrics.hedges.increment(by: 1) }
                    ask(subRequest.node, query, partitions: subRequest.partitions) { answer in
                        let now = self.loop.nowMilliseconds
                        switch answer {
                        case .answered(let partial, let unavailable):
                            if !unavailable.isEmpty { self.remember(declined: unavailable, by: subRequest.node) }
                            perform(driver.answered(subRequest.id, with: partial, declined: unavailable, now: now, timing: &self.hedgeTiming))
                        case .failed:
                            perform(driver.failed(subRequest.id, now: now, timing: &self.hedgeTiming))
                        case .refused:
                            perform(driver.refused(subRequest.id, now: now, timing: &self.hedgeTiming))
                        }
                    }
                case .wake(let at):
                    if hedgeTimer == nil { hedgeTimer = EspyLoop.Timer(loop: loop) }
                    hedgeTimer?.start(after: at - min(at, loop.nowMilliseconds)) {
                        perform(driver.tick(now: self.loop.nowMilliseconds, timing: &self.hedgeTiming))
                    }
                case .finish:
                    hedgeTimer?.close()
                    if let registration { queryFinished(registration) }
                    let newest = driver.partials.compactMap { if case .newest(let records) = $0 { records } else { nil } }
                    let sums = driver.partials.compactMap { if case .counts(let counts) = $0 { counts } else { nil } }
                    let result = query.limit.map { CountMerge.countNewest(newest, limit: $0) } ?? CountMerge.sum(sums)
                    if driver.plan.coverage.isPartial { metrics.partialAnswers.increment() }
                    completion(CountAnswer(result: result, coverage: driver.plan.coverage))
                }
            }
        }

        registration = queryStarted { node in
            perform(driver.memberLost(node, now: self.loop.nowMilliseconds, timing: &self.hedgeTiming))
        }
        perform(driver.start(now: loop.nowMilliseconds, timing: &hedgeTiming))
    }

    enum PartialCount {
        case counts(CountResult)
        case newest([RecentRecord])
    }

    enum SubAnswer {
        /// The node's part, and the partitions it declined.
        case answered(PartialCount, unavailable: [Int])
        /// No usable answer: down, timed out, a 5xx, or a malformed body.
        case failed
        /// A 4xx: the node judged the request bad.
        case refused

        init(_ answer: (PartialCount, unavailable: [Int])?) {
            self = answer.map { .answered($0.0, unavailable: $0.unavailable) } ?? .failed
        }

        var isAnswered: Bool {
            if case .answered = self { return true }
            return false
        }
    }

    /// Asks `node` (this node's shard directly) for its part.
    func ask(_ node: MemberName, _ query: CountQuery, partitions: [Int], completion: @escaping (SubAnswer) -> Void) {
        if node == selfName {
            let (partitions, unavailable) = readable(partitions)
            if let limit = query.limit {
                shard.newest(query, limit: limit, partitions: partitions) { result in
                    completion(SubAnswer((try? result.get()).map { (.newest($0.map(RecentRecord.init)), unavailable) }))
                }
            } else {
                shard.count(query, partitions: partitions) { result in
                    completion(SubAnswer((try? result.get()).map { (.counts($0), unavailable) }))
                }
            }
            return
        }
        guard let address = httpAddresses[node] else { return completion(.failed) }
        metrics.subRequests.increment()
        let path = query.limit == nil ? "/internal/v1/count" : "/internal/v1/newest"
        client.request(.post, path, to: address, headers: Self.formHeaders,
                       body: Array(InternalWire.countForm(query, partitions: partitions).utf8),
                       timeoutMilliseconds: shard.readsFromRollups(query) ? subRequestTimeoutMilliseconds : scanTimeoutMilliseconds) { result in
            guard case .success(let response) = result, response.status == 200,
                  let unavailable = self.declined(in: response) else {
                if case .success(let response) = result, (400..<500).contains(response.status) {
                    self.refused(response, by: node)
                    return completion(.refused)
                }
                return completion(.failed)
            }
            if query.limit == nil {
                completion(SubAnswer(InternalWire.decodeCount(response.body).map { (.counts($0), unavailable) }))
            } else {
                completion(SubAnswer(InternalWire.decodeNewest(response.body).map { (.newest($0.map(RecentRecord.init)), unavailable) }))
            }
        }
    }

    static let formHeaders = [(name: "Content-Type", value: "application/x-www-form-urlencoded")]

    /// A peer refused a sub-request as bad: the request is at fault (a version mismatch, or a
    /// bug), not the peer. Logged as such, and reported in `nodes.refused`, not `nodes.failed`;
    /// the partitions still move to another replica.
    func refused(_ response: HTTPResponseParser.Response, by node: MemberName) {
        logger.error("a peer refused a sub-request as bad; it is not failing, this node's request is", metadata: [
            "cluster/node": "\(node)", "http/status": "\(response.status)",
            "http/body": "\(String(decoding: response.body.prefix(300), as: UTF8.self))",
        ])
    }

    /// The partitions a peer declined to answer for (`X-Espy-Unavailable`); nil when the header
    /// is malformed, so that the answer counts as failed rather than covering what it did not.
    func declined(in response: HTTPResponseParser.Response) -> [Int]? {
        InternalWire.declinedPartitions(response.headers[InternalWire.unavailableHeader], partitionCount: partitionCount)
    }
}

extension RecentRecord {
    init(_ record: NewestRecord) {
        let grouping: Grouping = switch record.groupingKey {
        case _ where !record.admitted: .excluded
        case .none: .ungrouped
        case .some(nil): .missing
        case .some(let key?): .key(key)
        }
        self.init(serverTime: record.serverTime, id: record.id, grouping: grouping)
    }
}
