import EspyCore
import EspyHTTP
import EspyLoop
import EspyStorage
import Logging

/// `/internal/v1/*`: what coordinators ask of this node's shard on behalf of clients — store
/// replicas of records, and count or export some partitions. Never called by clients.
public final class InternalAPI {
    public typealias Reply = (HTTPResponse) -> Void

    private let loop: EventLoop
    private let shard: Shard
    private let logger: Logger
    private var router = Router<Endpoint>()

    public static let pathPrefix = "/internal/v1/"
    public static let routes = ["/internal/v1/records", "/internal/v1/count", "/internal/v1/newest", "/internal/v1/export"]

    public init(loop: EventLoop, shard: Shard, logger: Logger) {
        self.loop = loop
        self.shard = shard
        self.logger = logger
        router.add(.post, "/internal/v1/records") { [unowned self] in self.storeRecords($0, $1) }
        router.add(.get, "/internal/v1/count") { [unowned self] in self.count($0, $1) }
        router.add(.get, "/internal/v1/newest") { [unowned self] in self.newest($0, $1) }
        router.add(.get, "/internal/v1/export") { [unowned self] in self.export($0, $1) }
    }

    public func handle(_ request: HTTPRequest, reply: @escaping Reply) {
        router.dispatch(request, reply: reply)
    }

    private func storeRecords(_ request: HTTPRequest, _ reply: @escaping Reply) {
        let body = request.body
        let partitionCount = shard.settings.partitionCount
        loop.runBlocking({ RecordBatch(storedRecords: body, partitionCount: partitionCount) }) { [self] batch in
            guard batch.rejections.isEmpty else {
                return reply(.error(.badRequest, "invalid stored record \(batch.rejections[0].index): \(batch.rejections[0].reason)"))
            }
            shard.write(batch.records) { result in
                switch result {
                case .success(let outcome):
                    var answer = JSONObject()
                    answer.add("stored", outcome.inserted)
                    answer.add("duplicates", outcome.duplicates)
                    // One character per record, in order: 1 newly stored, 0 already held.
                    answer.add("new", String(outcome.newlyStored.map { $0 ? "1" : "0" }))
                    reply(.json(.ok, answer.body))
                case .failure(let error):
                    reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
                }
            }
        }
    }

    /// The query and partitions of a sub-request, or the 400 that explains why not.
    private func subRequest(_ request: HTTPRequest) -> Result<(CountQuery, [Int]?), QueryParameterError> {
        Result { () throws(QueryParameterError) -> (CountQuery, [Int]?) in
            let parameters = request.queryParameters
            let query = try CountQuery(parameters: parameters)
            let partitions = try parameters.first(where: { $0.name == "partitions" }).map { (parameter) throws(QueryParameterError) in
                try InternalWire.parsePartitions(parameter.value, partitionCount: shard.settings.partitionCount)
            }
            return (query, partitions)
        }
    }

    private func count(_ request: HTTPRequest, _ reply: @escaping Reply) {
        switch subRequest(request) {
        case .failure(let error): reply(.error(.badRequest, "\(error)"))
        case .success(let (query, partitions)):
            shard.count(query, partitions: partitions) { result in
                switch result {
                case .success(let counts): reply(.json(.ok, InternalWire.encode(counts)))
                case .failure(let error): reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
                }
            }
        }
    }

    private func newest(_ request: HTTPRequest, _ reply: @escaping Reply) {
        switch subRequest(request) {
        case .failure(let error): reply(.error(.badRequest, "\(error)"))
        case .success(let (query, partitions)):
            guard let limit = query.limit else { return reply(.error(.badRequest, "parameter 'limit' is required")) }
            shard.newest(query, limit: limit, partitions: partitions) { result in
                switch result {
                case .success(let records):
                    reply(HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")], body: .bytes(InternalWire.encode(records))))
                case .failure(let error): reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
                }
            }
        }
    }

    /// One page of the export of some partitions, after `cursor` (`<server_time µs>:<id hex>`);
    /// the next page's cursor comes back in `X-Espy-Next-Cursor`, absent on the last page. Paged
    /// so that the coordinator pulls one page at a time and its memory stays flat.
    private func export(_ request: HTTPRequest, _ reply: @escaping Reply) {
        switch subRequest(request) {
        case .failure(let error): reply(.error(.badRequest, "\(error)"))
        case .success(let (range, partitions)):
            let cursor = request.queryParameter("cursor").flatMap(InternalWire.parseCursor)
            shard.exportPage(after: cursor, since: range.since, until: range.until, partitions: partitions) { result in
                switch result {
                case .success(let page):
                    var headers = [("Content-Type", "application/x-ndjson")]
                    if let next = page.next { headers.append(("X-Espy-Next-Cursor", InternalWire.cursorText(next))) }
                    reply(HTTPResponse(status: .ok, headers: headers, body: .bytes(page.ndjson)))
                case .failure(let error):
                    reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
                }
            }
        }
    }
}
