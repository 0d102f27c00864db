import EspyCluster
import EspyCore
import EspyHTTP
import EspyLoop
import EspyStorage
import Logging

/// The `/v1` endpoints: requests in, record-store calls out (the cluster coordinator), JSON back.
public final class V1API {
    public typealias Reply = (HTTPResponse) -> Void

    private let loop: EventLoop
    private let store: RecordStore
    /// This node's own shard, for the health check's record count.
    private let shard: Shard
    private let identity: NodeIdentity
    private let now: () -> Timestamp
    private let logger: Logger
    private var router = Router()
    private let metrics = APIMetrics()

    /// The paths this API serves, for labelling metrics without unbounded cardinality.
    public var paths: [String] { router.paths }
    /// Who may import with kept `server_time` (it rewrites history); set by the node.
    public var operatorAccess = OperatorAccess(tokens: [])

    public init(loop: EventLoop, store: RecordStore, shard: Shard, identity: NodeIdentity, logger: Logger,
                now: @escaping () -> Timestamp = Timestamp.now) {
        self.loop = loop
        self.store = store
        self.shard = shard
        self.identity = identity
        self.logger = logger
        self.now = now
        router.add(.post, "/v1/on_import") { [unowned self] in self.onImport($0, $1) }
        router.add(.post, "/v1/import") { [unowned self] in self.importBatch($0, $1) }
        router.add(.get, "/v1/count") { [unowned self] in self.count($0, $1) }
        router.add(.get, "/v1/download/import") { [unowned self] in self.download($0, $1) }
        router.add(.get, "/v1/health") { [unowned self] in self.health($0, $1) }
        router.add(.get, "/v1/ready") { [unowned self] in self.ready($0, $1) }
        router.add(.get, "/v1/dimensions") { [unowned self] in self.dimensions($0, $1) }
    }

    /// Routes a request; unknown paths get 404, known paths with the wrong method 405 + `Allow`.
    public func handle(_ request: HTTPRequest, reply: @escaping Reply) {
        router.dispatch(request, reply: reply)
    }

    // MARK: Ingest

    private func onImport(_ request: HTTPRequest, _ reply: @escaping Reply) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        guard request.body.contains(where: { $0 > 0x20 }) else {
            return reply(.error(.badRequest, "empty body: expected one JSON object"))
        }
        let body = request.body
        let serverTime = now()
        let partitionCount = store.partitionCount
        validate(bodyBytes: body.count, {
            Result { () throws(JSONSyntaxError) in
                try body.withUnsafeBytes { raw in
                    Result { () throws(JSONSyntaxError) in
                        try PreparedRecord(json: raw, serverTime: serverTime, partitionCount: partitionCount,
                                           skippingByteOrderMark: true)
                    }
                }.get()
            }
        }, then: { [self] prepared in
            switch prepared {
            case .failure(let error):
                metrics.recordsRejected.increment()
                reply(.error(.badRequest, "invalid record: \(error)"))
            case .success(let record):
                store.store([record]) { [self] outcome in
                    metrics.recordWrite(stored: outcome.stored, duplicates: outcome.duplicates)
                    if let failure = outcome.failed.first {
                        return reply(notAcknowledged("the record was not acknowledged; retry (it is stored at most once): \(failure.reason)"))
                    }
                    var answer = JSONObject()
                    answer.add("success", true)
                    answer.add("id", record.id.description)
                    reply(.json(.ok, answer.body()))
                }
            }
        })
    }

    private func importBatch(_ request: HTTPRequest, _ reply: @escaping Reply) {
        if let refusal = V1API.refusedParameters(request, allowed: ["keep_server_time"]) { return reply(refusal) }
        let keepServerTime: Bool
        do { keepServerTime = try V1API.flag("keep_server_time", in: request.queryParameters) } catch {
            return reply(.error(.badRequest, "\(error)"))
        }
        if keepServerTime, let refusal = operatorAccess.refusal(of: request, action: "import with keep_server_time") {
            return reply(refusal)
        }
        let body = request.body
        let framing = RecordBatch.framing(contentType: request.headers["content-type"], body: body)
        let serverTime = now()
        let partitionCount = store.partitionCount
        validate(bodyBytes: body.count, {
            Result { () throws(RecordBatch.FramingError) in
                try RecordBatch(body: body, framing: framing, serverTime: serverTime, partitionCount: partitionCount,
                                keepingServerTime: keepServerTime)
            }
        }, then: { [self] framed in
            switch framed {
            case .failure(let error):
                reply(.error(.badRequest, error.description))
            case .success(let batch):
                if !batch.rejections.isEmpty { metrics.recordsRejected.increment(by: batch.rejections.count) }
                store.store(batch.records) { [self] outcome in
                    metrics.recordWrite(stored: outcome.stored, duplicates: outcome.duplicates)
                    if !outcome.failed.isEmpty { metrics.storageFailures.increment() }
                    let status: HTTPStatus = outcome.failed.isEmpty ? .ok : .serviceUnavailable
                    reply(.json(status, importAnswer(batch, outcome)))
                }
            }
        })
    }

    /// The 400 for a query parameter the endpoint does not take or one given twice, if any:
    /// every endpoint refuses them alike rather than ignoring what the client meant (the node's
    /// own endpoints, such as `/metrics`, use it too).
    public static func refusedParameters(_ request: HTTPRequest, allowed: [String]) -> HTTPResponse? {
        do {
            try QueryParameters.check(request.queryParameters, allowed: allowed)
            return nil
        } catch {
            return .error(.badRequest, "\(error)")
        }
    }

    /// Bodies up to this size are validated on the loop: a few microseconds of parsing cost less
    /// than a hop through the thread pool and back, which dominated small writes when measured.
    static let inlineValidationLimit = 64 * 1024

    /// Runs `work` (JSON validation, proportional to the body) inline for small bodies and on
    /// the thread pool for large ones, so the loop never spends long on one request.
    private func validate<T>(bodyBytes: Int, _ work: @escaping () -> T, then completion: @escaping (T) -> Void) {
        if bodyBytes <= V1API.inlineValidationLimit {
            completion(work())
        } else {
            loop.runBlocking(work, completion: completion)
        }
    }

    /// `accepted` counts records acknowledged; `failed` lists, by their position in the upload,
    /// valid records that did not reach their write quorum (the answer is then 503: retry them).
    private func importAnswer(_ batch: RecordBatch, _ outcome: StoreOutcome) -> [UInt8] {
        let rejected = Set(batch.rejections.map(\.index))
        let uploadPositions = (0..<(batch.records.count + batch.rejections.count)).filter { !rejected.contains($0) }
        var answer = JSONObject()
        answer.add("accepted", batch.records.count - outcome.failed.count)
        answer.add("stored", outcome.stored)
        answer.add("duplicates", outcome.duplicates)
        answer.add("rejected", array: batch.rejections.map { rejection in
            var item = JSONObject()
            item.add("index", rejection.index)
            if let line = rejection.line { item.add("line", line) }
            item.add("error", rejection.reason)
            return item
        })
        if !outcome.failed.isEmpty {
            answer.add("failed", array: outcome.failed.map { failure in
                var item = JSONObject()
                item.add("index", uploadPositions[failure.index])
                item.add("error", failure.reason)
                return item
            })
        }
        return answer.body()
    }

    private func notAcknowledged(_ message: String) -> HTTPResponse {
        metrics.storageFailures.increment()
        return .error(.serviceUnavailable, message)
    }

    // MARK: Queries

    private func count(_ request: HTTPRequest, _ reply: @escaping Reply) {
        let query: CountQuery
        let allowPartial: Bool
        let consistency: ReadConsistency?
        let top: Int?
        let order: CountOrder
        do {
            let parameters = request.queryParameters
            try QueryParameters.check(parameters, allowed: ["group_by", "where", "where_not", "bucket", "distinct", "top", "order", "limit",
                                                            "since", "until", "allow_partial", "read_consistency"],
                                      repeatable: ["group_by", "where", "where_not"])
            query = try CountQuery(parameters: parameters)
            allowPartial = try V1API.allowPartial(parameters)
            consistency = try V1API.readConsistency(parameters)
            top = try V1API.top(parameters)
            order = try V1API.order(parameters)
        } catch {
            return reply(.error(.badRequest, "\(error)"))
        }
        store.count(query, consistency: consistency, allowPartial: allowPartial) { [self] answer in
            guard answer.isComplete || allowPartial else {
                return reply(unavailable(answer.coverage))
            }
            let rows = CountRows(query: query, result: answer.result, top: top, order: order)
            reply(.json(.ok, countAnswer(query, answer.result, rows, answer.coverage)))
        }
    }

    static func top(_ parameters: QueryParameters.List) throws(QueryParameterError) -> Int? {
        guard let value = try QueryParameters.value("top", in: parameters) else { return nil }
        guard let number = Int(value), number >= 1, number <= maxTop else {
            throw QueryParameterError(parameter: "top", reason: "must be a whole number from 1 to \(maxTop), got '\(value)'")
        }
        return number
    }

    static let maxTop = 10_000

    static func order(_ parameters: QueryParameters.List) throws(QueryParameterError) -> CountOrder {
        guard let value = try QueryParameters.value("order", in: parameters) else { return .count }
        guard let order = CountOrder(rawValue: value) else {
            throw QueryParameterError(parameter: "order", reason: "must be one of count, key, version, got '\(value)'")
        }
        return order
    }

    static func readConsistency(_ parameters: QueryParameters.List) throws(QueryParameterError) -> ReadConsistency? {
        guard let value = try QueryParameters.value("read_consistency", in: parameters) else { return nil }
        guard let consistency = ReadConsistency(text: value) else {
            throw QueryParameterError(parameter: "read_consistency", reason: "must be \(ReadConsistency.choices), got '\(value)'")
        }
        return consistency
    }

    static func allowPartial(_ parameters: [(name: String, value: String)]) throws(QueryParameterError) -> Bool {
        try flag("allow_partial", in: parameters)
    }

    /// A true/false parameter; absent is false.
    static func flag(_ name: String, in parameters: [(name: String, value: String)]) throws(QueryParameterError) -> Bool {
        guard let value = try QueryParameters.value(name, in: parameters) else { return false }
        switch value {
        case "true", "1": return true
        case "false", "0": return false
        default: throw QueryParameterError(parameter: name, reason: "must be true or false, got '\(value)'")
        }
    }

    /// 503 naming what is missing; the coverage block says which nodes failed.
    private func unavailable(_ coverage: Coverage) -> HTTPResponse {
        var answer = JSONObject()
        let missing = coverage.missingPartitions
        var why: [String] = []
        if !coverage.nodesFailed.isEmpty { why.append("failed nodes: " + coverage.nodesFailed.map(\.description).joined(separator: ", ")) }
        if !coverage.nodesUnavailable.isEmpty {
            why.append("down or catching up: " + coverage.nodesUnavailable.map(\.description).joined(separator: ", "))
        }
        if !coverage.nodesRefused.isEmpty {
            why.append("refused this node's sub-request as bad (a version mismatch or a bug; their logs say why): "
                       + coverage.nodesRefused.map(\.description).joined(separator: ", "))
        }
        answer.add("error", "\(missing.count) of \(coverage.partitionsTotal) partitions have no answering replica"
                   + (why.isEmpty ? "" : " (" + why.joined(separator: "; ") + ")") + "; add allow_partial=true to accept a partial answer")
        answer.addIntegers("missing_partitions", missing)
        answer.add("coverage", object: coverage.json)
        return .json(.serviceUnavailable, answer.body())
    }

    /// The seed's members (`counts`, `grouped_by`, … with one `group_by`; `record_count`), then
    /// `rows` and `total`, then coverage.
    private func countAnswer(_ query: CountQuery, _ result: CountResult, _ rows: CountRows, _ coverage: Coverage) -> [UInt8] {
        var answer = JSONObject()
        if query.groupPaths.count == 1 {
            // Every key, whatever `top` cuts from the rows: the seed's answer, filters applied.
            let seed = query.isComposite ? result.singlePathCounts(valueAt: query.bucket == nil ? 0 : 1) : result
            var counts = JSONObject()
            for (key, n) in seed.sortedCounts { counts.add(key, n) }
            answer.add("counts", object: counts)
            answer.add("record_count", seed.recordCount)
            answer.add("grouped_key_count", seed.counts.count)
            answer.add("grouped_by", query.groupPathTexts[0])
            answer.add("error_count", seed.missingCount)
        } else {
            answer.add("record_count", result.recordCount)
        }
        rows.add(to: &answer, paths: query.groupPathTexts)
        if let distinct = query.distinctText { answer.add("distinct_of", distinct) }
        answer.add("coverage", object: coverage.json)
        return answer.body()
    }

    private func download(_ request: HTTPRequest, _ reply: @escaping Reply) {
        let range: CountQuery
        let allowPartial: Bool
        let consistency: ReadConsistency?
        do {
            let parameters = request.queryParameters
            try QueryParameters.check(parameters, allowed: ["since", "until", "allow_partial", "read_consistency"])
            range = try CountQuery(parameters: parameters)
            allowPartial = try V1API.allowPartial(parameters)
            consistency = try V1API.readConsistency(parameters)
        } catch {
            return reply(.error(.badRequest, "\(error)"))
        }
        let stream = store.export(since: range.since, until: range.until, consistency: consistency, allowPartial: allowPartial)
        reply(HTTPResponse(status: .ok, headers: [("Content-Type", "application/x-ndjson")], body: .stream(stream)))
    }

    /// What this node's shard keeps rollups of: the declared dimensions and distinct paths, and
    /// the adaptive dimensions, which questions that read bodies added.
    private func dimensions(_ request: HTTPRequest, _ reply: @escaping Reply) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        var answer = JSONObject()
        answer.add("node", identity.name)
        answer.addStrings("declared", shard.settings.dimensions.map(\.description))
        answer.addStrings("distinct", shard.settings.distinctPaths.map(\.description))
        var adaptive = JSONObject()
        adaptive.add("limit", shard.settings.adaptiveLimit)
        adaptive.add("paths", array: shard.adaptiveDimensions.map { status in
            var entry = JSONObject()
            entry.add("path", status.path.description)
            entry.add("ready", status.isReady)
            entry.add("built_percent", hundredths: Int((status.built * 10_000).rounded(.down)))
            entry.add("last_asked", status.lastAsked.description)
            entry.add("answers", status.answers)
            return entry
        })
        answer.add("adaptive", object: adaptive)
        reply(.json(.ok, answer.body()))
    }

    /// The last health answer, given again while what it says holds: load balancers ask often.
    private var lastHealth: (records: Int, readiness: Readiness, body: [UInt8])?

    /// Liveness: the process serves HTTP. Always 200 while it does, with whether it is ready
    /// (a load balancer's liveness check must not restart a node that is only catching up).
    private func health(_ request: HTTPRequest, _ reply: @escaping Reply) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        let readiness = store.readiness
        let records = shard.recordCount
        if let last = lastHealth, last.records == records, last.readiness == readiness { return reply(.json(.ok, last.body)) }
        var answer = JSONObject()
        answer.add("status", "ok")
        answer.add("node", identity.name)
        answer.add("datacenter", identity.datacenter)
        answer.add("version", identity.version)
        answer.add("records", records)
        answer.add("ready", readiness.isReady)
        if !readiness.isReady { answer.addStrings("not_ready", readiness.reasons) }
        let body = answer.body()
        lastHealth = (records, readiness, body)
        reply(.json(.ok, body))
    }

    /// Readiness, for a load balancer: 200 once this node's answers can be complete, 503 with
    /// the reasons before (looking for its cluster after a restart, a failing disk, partitions
    /// no replica can be read for yet).
    private func ready(_ request: HTTPRequest, _ reply: @escaping Reply) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        let readiness = store.readiness
        var answer = JSONObject()
        answer.add("ready", readiness.isReady)
        answer.add("node", identity.name)
        if !readiness.isReady { answer.addStrings("reasons", readiness.reasons) }
        reply(.json(readiness.isReady ? .ok : .serviceUnavailable, answer.body()))
    }
}
