import EspyCore
import EspyHTTP
import EspyLoop
import EspyStorage
import Logging

/// The `/v1` endpoints of one node over its shard: requests in, storage calls out, JSON back.
public final class V1API {
    public typealias Reply = (HTTPResponse) -> Void
    typealias Endpoint = (HTTPRequest, @escaping Reply) -> Void

    private let loop: EventLoop
    private let shard: Shard
    private let identity: NodeIdentity
    private let now: () -> Timestamp
    private let logger: Logger
    private var router = Router<Endpoint>()
    private let metrics = APIMetrics()

    /// The paths this API serves, for labelling metrics without unbounded cardinality.
    public static let routes = ["/v1/on_import", "/v1/import", "/v1/count", "/v1/download/import", "/v1/health"]

    public init(loop: EventLoop, shard: Shard, identity: NodeIdentity, logger: Logger,
                now: @escaping () -> Timestamp = Timestamp.now) {
        self.loop = loop
        self.shard = shard
        self.identity = identity
        self.logger = logger
        self.now = now
        router.add(.post, "/v1/on_import") { [unowned self] in self.onImport($0, $1) }
        router.add(.post, "/v1/import") { [unowned self] in self.importBatch($0, $1) }
        router.add(.get, "/v1/count") { [unowned self] in self.count($0, $1) }
        router.add(.get, "/v1/download/import") { [unowned self] in self.download($0, $1) }
        router.add(.get, "/v1/health") { [unowned self] in self.health($0, $1) }
    }

    /// Routes a request; unknown paths get 404, known paths with the wrong method 405 + `Allow`.
    public func handle(_ request: HTTPRequest, reply: @escaping Reply) {
        switch router.match(request.method, path: request.path) {
        case .handler(let endpoint):
            endpoint(request, reply)
        case .methodNotAllowed(let allowed):
            let names = allowed.map(\.description).joined(separator: ", ")
            reply(.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path); use \(names)",
                         headers: [("Allow", names)]))
        case .notFound:
            reply(.error(.notFound, "no such endpoint: \(request.path)"))
        }
    }

    // MARK: Ingest

    private func onImport(_ request: HTTPRequest, _ reply: @escaping Reply) {
        guard request.body.contains(where: { $0 > 0x20 }) else {
            return reply(.error(.badRequest, "empty body: expected one JSON object"))
        }
        let body = request.body
        let serverTime = now()
        let partitionCount = shard.settings.partitionCount
        validate(bodyBytes: body.count, {
            Result { () throws(JSONSyntaxError) in
                try body.withUnsafeBytes { raw in
                    Result { () throws(JSONSyntaxError) in
                        try PreparedRecord(json: raw, serverTime: serverTime, partitionCount: partitionCount)
                    }
                }.get()
            }
        }, then: { [self] prepared in
            switch prepared {
            case .failure(let error):
                metrics.recordsRejected.increment()
                reply(.error(.badRequest, "invalid record: \(error)"))
            case .success(let record):
                shard.write([record]) { [self] result in
                    switch result {
                    case .success(let outcome):
                        metrics.recordWrite(stored: outcome.inserted, duplicates: outcome.duplicates)
                        var answer = JSONObject()
                        answer.add("success", true)
                        answer.add("id", record.id.description)
                        reply(.json(.ok, answer.body))
                    case .failure(let error):
                        reply(storageFailure(error))
                    }
                }
            }
        })
    }

    private func importBatch(_ request: HTTPRequest, _ reply: @escaping Reply) {
        let body = request.body
        let framing = RecordBatch.framing(contentType: request.headers["content-type"], body: body)
        let serverTime = now()
        let partitionCount = shard.settings.partitionCount
        validate(bodyBytes: body.count, {
            Result { () throws(RecordBatch.FramingError) in
                try RecordBatch(body: body, framing: framing, serverTime: serverTime, partitionCount: partitionCount)
            }
        }, then: { [self] framed in
            switch framed {
            case .failure(let error):
                reply(.error(.badRequest, error.description))
            case .success(let batch):
                if !batch.rejections.isEmpty { metrics.recordsRejected.increment(by: batch.rejections.count) }
                shard.write(batch.records) { [self] result in
                    switch result {
                    case .success(let outcome):
                        metrics.recordWrite(stored: outcome.inserted, duplicates: outcome.duplicates)
                        reply(.json(.ok, importAnswer(accepted: batch.records.count, outcome: outcome, rejections: batch.rejections)))
                    case .failure(let error):
                        reply(storageFailure(error))
                    }
                }
            }
        })
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

    private func importAnswer(accepted: Int, outcome: WriteOutcome, rejections: [RecordBatch.Rejection]) -> [UInt8] {
        var answer = JSONObject()
        answer.add("accepted", accepted)
        answer.add("stored", outcome.inserted)
        answer.add("duplicates", outcome.duplicates)
        answer.add("rejected", array: rejections.map { rejection in
            var item = JSONObject()
            item.add("index", rejection.index)
            if let line = rejection.line { item.add("line", line) }
            item.add("error", rejection.reason)
            return item
        })
        return answer.body
    }

    private func storageFailure(_ error: StorageError) -> HTTPResponse {
        logger.error("storage request failed", metadata: ["storage/error": "\(error)"])
        metrics.storageFailures.increment()
        return .error(.serviceUnavailable, "storage failed, nothing was acknowledged; retry: \(error.message)")
    }

    // MARK: Queries

    private func count(_ request: HTTPRequest, _ reply: @escaping Reply) {
        let query: CountQuery
        do {
            let parameters = request.queryParameters
            if let unknown = parameters.first(where: { !["group_by", "limit", "since", "until"].contains($0.name) }) {
                throw QueryParameterError(parameter: unknown.name, reason: "is not known; use group_by, limit, since, until")
            }
            query = try CountQuery(parameters: parameters)
        } catch {
            return reply(.error(.badRequest, "\(error)"))
        }
        shard.count(query) { [self] result in
            switch result {
            case .success(let counts): reply(.json(.ok, countAnswer(query, counts)))
            case .failure(let error): reply(storageFailure(error))
            }
        }
    }

    private func countAnswer(_ query: CountQuery, _ result: CountResult) -> [UInt8] {
        var answer = JSONObject()
        if let groupedBy = query.groupByText {
            var counts = JSONObject()
            for (key, n) in result.sortedCounts { counts.add(key, n) }
            answer.add("counts", object: counts)
            answer.add("record_count", result.recordCount)
            answer.add("grouped_key_count", result.counts.count)
            answer.add("grouped_by", groupedBy)
            answer.add("error_count", result.missingCount)
        } else {
            answer.add("record_count", result.recordCount)
        }
        return answer.body
    }

    private func download(_ request: HTTPRequest, _ reply: @escaping Reply) {
        let range: CountQuery
        do {
            let parameters = request.queryParameters
            if let unknown = parameters.first(where: { !["since", "until"].contains($0.name) }) {
                throw QueryParameterError(parameter: unknown.name, reason: "is not known; use since, until")
            }
            range = try CountQuery(parameters: parameters)
        } catch {
            return reply(.error(.badRequest, "\(error)"))
        }
        let stream = ExportStream(shard: shard, since: range.since, until: range.until)
        reply(HTTPResponse(status: .ok, headers: [("Content-Type", "application/x-ndjson")], body: .stream(stream)))
    }

    private func health(_ request: HTTPRequest, _ reply: @escaping Reply) {
        var answer = JSONObject()
        answer.add("status", "ok")
        answer.add("node", identity.name)
        answer.add("datacenter", identity.datacenter)
        answer.add("records", shard.recordCount)
        reply(.json(.ok, answer.body))
    }
}
