import EspyAPI
import EspyCluster
import EspyCore
import EspyHTTP
import EspyLoop
import EspyStorage

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

    private func count(_ query: CountQuery, plan: QueryPlan, completion: @escaping (CountAnswer) -> Void) {
        var plan = plan
        var sums: [CountResult] = []
        var newest: [[RecentRecord]] = []
        var sentAt: [Int: UInt64] = [:]
        var hedgeTimer: EspyLoop.Timer?
        var done = false
        var registration: Int?

        func finishIfDone() {
            guard plan.isFinished, !done else { return }
            done = true
            hedgeTimer?.close()
            if let registration { queryFinished(registration) }
            let result = query.limit.map { CountMerge.countNewest(newest, limit: $0) } ?? CountMerge.sum(sums)
            if plan.coverage.isPartial { self.metrics.partialAnswers.increment() }
            completion(CountAnswer(result: result, coverage: plan.coverage))
        }

        func run(_ subRequest: QueryPlan.SubRequest) {
            sentAt[subRequest.id] = loop.nowMilliseconds
            ask(subRequest.node, query, partitions: subRequest.partitions) { answer in
                // Late answers count for the peer's latency too, or a peer whose stragglers are
                // always hedged would look fast forever.
                if answer.isAnswered, subRequest.node != self.selfName, let sent = sentAt[subRequest.id] {
                    self.hedgeTiming.observe(subRequest.node, milliseconds: Double(self.loop.nowMilliseconds - sent))
                }
                guard !done else { return }
                switch answer {
                case .answered(let partial, let unavailable):
                    if !unavailable.isEmpty {
                        self.remember(declined: unavailable, by: subRequest.node)
                        let moved = plan.decline(unavailable, in: subRequest.id)
                        self.metrics.replans.increment(by: moved.count)
                        for next in moved { run(next) }
                    }
                    if plan.onAnswer(of: subRequest.id) == .merge {
                        switch partial {
                        case .counts(let counts): sums.append(counts)
                        case .newest(let records): newest.append(records)
                        }
                    }
                    for next in plan.takeResend() { run(next) }
                case .failed:
                    let moved = plan.replan(afterFailureOf: subRequest.node)
                    self.metrics.replans.increment(by: moved.count)
                    for next in moved { run(next) }
                case .refused:
                    let moved = plan.replan(afterRefusalBy: subRequest.node)
                    self.metrics.replans.increment(by: moved.count)
                    for next in moved { run(next) }
                }
                finishIfDone()
            }
        }

        let hedgeCost = shard.readsFromRollups(query) ? HedgeTiming.scanningHedgeCost : 1
        /// Stragglers are asked of their next replicas too, each once: the first answer wins.
        /// Wakes at the earliest moment a pending sub-request becomes a straggler.
        func hedgeStragglers() {
            guard !done else { return }
            let now = loop.nowMilliseconds
            var nextCheck: UInt64?
            for pending in plan.pendingSubRequests where pending.node != selfName && !plan.isHedged(pending.id) {
                if done { return }
                guard let sent = sentAt[pending.id] else { continue }
                let due = sent + UInt64(hedgeTiming.hedgeAfterMilliseconds(pending.node).rounded(.up))
                guard due <= now else {
                    nextCheck = min(nextCheck ?? due, due)
                    continue
                }
                guard let fanOut = plan.hedgeFanOut(pending.id), hedgeTiming.spend(fanOut, costing: hedgeCost) else { continue }
                let hedges = plan.hedge(pending.id)
                metrics.hedges.increment(by: hedges.count)
                for hedge in hedges { run(hedge) }
            }
            guard !done, let nextCheck else { return }
            if hedgeTimer == nil { hedgeTimer = EspyLoop.Timer(loop: loop) }
            hedgeTimer?.start(after: nextCheck - now) { hedgeStragglers() }
        }

        let initial = plan.initialSubRequests
        // Everything is here (a one-node cluster, or a node holding every partition): the shard
        // answers directly, limits included, with no per-record merge.
        if initial.count == 1, initial[0].node == selfName, initial[0].partitions.count == partitionCount {
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
        // A member gossip stops routing to is given up on at once: a stopped peer is suspected
        // within seconds, long before its sub-requests time out.
        registration = queryStarted { node in
            guard !done, plan.pendingSubRequests.contains(where: { $0.node == node }) else { return }
            let moved = plan.replan(afterFailureOf: node)
            self.metrics.replans.increment(by: moved.count)
            for next in moved { run(next) }
            finishIfDone()
        }
        for subRequest in initial { run(subRequest) }
        hedgeTiming.sent(initial.count { $0.node != selfName })
        hedgeStragglers()
        finishIfDone()
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
                       body: Array(ClusterCoordinator.parameters(query, partitions: partitions).utf8),
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

    static func parameters(_ query: CountQuery, partitions: [Int]) -> String {
        var parameters = ["partitions=" + InternalWire.partitionsParameter(partitions)]
        for path in query.groupPaths { parameters.append("group_by=" + HTTPRequest.percentEncoded(path.description)) }
        for filter in query.filters {
            for (name, value) in filter.parameters { parameters.append(name + "=" + HTTPRequest.percentEncoded(value)) }
        }
        if let bucket = query.bucket { parameters.append("bucket=" + bucket.rawValue) }
        if let distinct = query.distinct { parameters.append("distinct=" + HTTPRequest.percentEncoded(distinct.description)) }
        if let limit = query.limit { parameters.append("limit=\(limit)") }
        if let since = query.since { parameters.append("since=" + HTTPRequest.percentEncoded(since.description)) }
        if let until = query.until { parameters.append("until=" + HTTPRequest.percentEncoded(until.description)) }
        return parameters.joined(separator: "&")
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
