import EspyCluster
import EspyCore
import Foundation
import EspyHTTP
import EspyLoop
import EspyStorage
import EspyWire
import Logging

/// `/internal/v1/*`: what coordinators ask of this node's shard on behalf of clients — store
/// replicas of records, and count or export some partitions. Never called by clients.
public final class InternalAPI {
    public typealias Reply = (HTTPResponse) -> Void

    private let loop: EventLoop
    private let shard: Shard
    private let logger: Logger
    private var router = Router()
    /// Splits requested partitions into those this node may be read for and those it may not
    /// (it does not own them, or is still catching up on them). Set by the cluster layer; a
    /// partition declined is named in `X-Espy-Unavailable`, never answered as empty.
    public var readiness: ([Int]) -> (readable: [Int], unavailable: [Int]) = { ($0, []) }
    /// Whether this node is a replica of a partition in its own view of the placement (gaining
    /// one counts: it is receiving it), and the digest of that view. Set by the cluster layer.
    /// Records of other partitions placed by the same view are refused, so a write is never
    /// counted on a node that will not keep it; placed by another view, the sender or this
    /// node is behind, and they are kept (repair moves them to their owners if this node is not one).
    public var owns: (Int) -> Bool = { _ in true }
    public var placement: () -> String? = { nil }
    /// Told of every replica write to the shard: the partitions written and the failure, if any.
    public var onReplicaWrite: (_ partitions: Set<Int>, _ failure: String?) -> Void = { _, _ in }
    /// A coordinator kept hints for this node: it missed writes to these partitions.
    public var onMissedWrites: (_ partitions: [Int]) -> Void = { _ in }
    /// A verified query found this replica behind others: pull from them, then complete.
    public var onReadRepair: (_ repairs: [PartitionReplica], _ completion: @escaping (Bool) -> Void) -> Void = { $1(false) }

    public static let pathPrefix = "/internal/v1/"
    /// The paths this API serves, for labelling metrics.
    public var paths: [String] { router.paths }

    public init(loop: EventLoop, shard: Shard, logger: Logger) {
        self.loop = loop
        self.shard = shard
        self.logger = logger
        router.add(.post, "/internal/v1/records") { [unowned self] in self.storeRecords($0, $1) }
        // POST carries the parameters in the body (what nodes send); GET in the URL (for people).
        for method in [HTTPMethod.get, .post] {
            router.add(method, "/internal/v1/count") { [unowned self] in self.count($0, $1) }
            router.add(method, "/internal/v1/newest") { [unowned self] in self.newest($0, $1) }
            router.add(method, "/internal/v1/export") { [unowned self] in self.export($0, $1) }
        }
        router.add(.post, "/internal/v1/missed") { [unowned self] in self.missed($0, $1) }
        router.add(.post, "/internal/v1/repair/digests") { [unowned self] in self.digests($0, $1) }
        router.add(.post, "/internal/v1/repair/diff") { [unowned self] in self.diff($0, $1) }
        router.add(.post, "/internal/v1/repair/fetch") { [unowned self] in self.fetch($0, $1) }
        router.add(.post, "/internal/v1/repair/pull") { [unowned self] in self.pull($0, $1) }
    }

    /// Who may call; set by the node before it serves.
    public var access = InternalAccess(policy: .membersOnly(isMemberHost: { _ in true }))
    private var refusalLoggedAt: UInt64?

    public func handle(_ request: HTTPRequest, reply: @escaping Reply) {
        if let (status, reason) = access.refusal(of: request) {
            let now = loop.nowMilliseconds
            if refusalLoggedAt.map({ now - $0 >= 60_000 }) ?? true {
                refusalLoggedAt = now
                logger.warning("refused an internal request (said at most once a minute; espymetrics_internal_requests_refused_total counts them)", metadata: [
                    "http/path": "\(request.path)", "http/peer": "\(request.peerHost ?? "?")", "http/reason": "\(reason)",
                ])
            }
            return reply(.error(status, reason))
        }
        router.dispatch(request, reply: reply)
    }

    private func storeRecords(_ request: HTTPRequest, _ reply: @escaping Reply) {
        let body = request.body
        let partitionCount = shard.settings.partitionCount
        loop.runBlocking({ RecordBatch(storedRecords: body, partitionCount: partitionCount) }) { [self] batch in
            guard batch.rejections.isEmpty else {
                return reply(.error(.badRequest, "invalid stored record \(batch.rejections[0].index): \(batch.rejections[0].reason)"))
            }
            let sender = request.headers[InternalWire.placementHeader]
            let samePlacement = sender == nil || sender == placement()
            let notOwned = samePlacement ? Set(batch.records.lazy.map(\.partition).filter { !self.owns($0) }).sorted() : []
            guard notOwned.isEmpty else {
                let named = notOwned.prefix(10).map(String.init).joined(separator: ", ") + (notOwned.count > 10 ? ", ..." : "")
                return reply(.error(.misdirectedRequest, "not a replica of \(notOwned.count) of the batch's partitions (\(named)) in this node's view of the placement; nothing of the batch was stored",
                                    headers: [(InternalWire.unavailableHeader, InternalWire.partitionsParameter(notOwned))]))
            }
            shard.write(batch.records) { [self] result in
                switch result {
                case .success(let outcome):
                    onReplicaWrite([], nil)
                    var answer = JSONObject()
                    answer.add("stored", outcome.inserted)
                    answer.add("duplicates", outcome.duplicates)
                    // One character per record, in order: 1 newly stored, 0 already held.
                    answer.add("new", String(outcome.newlyStored.map { $0 ? "1" : "0" }))
                    reply(.json(.ok, answer.body()))
                case .failure(let error):
                    onReplicaWrite(Set(batch.records.map(\.partition)), error.message)
                    reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
                }
            }
        }
    }

    /// A sub-request: its query, the partitions to read (nil: all), and those declined.
    private struct SubRequest {
        let query: CountQuery
        let partitions: [Int]?
        let unavailable: [Int]
        /// Where an export page starts (`export` only).
        var cursor: ExportCursor?

        /// Names the declined partitions for the coordinator.
        var headers: [(name: String, value: String)] {
            unavailable.isEmpty ? [] : [(InternalWire.unavailableHeader, InternalWire.partitionsParameter(unavailable))]
        }
    }

    private static func parameters(of request: HTTPRequest) -> [(name: String, value: String)] {
        request.method == .post ? request.formParameters : request.queryParameters
    }

    /// The sub-request in `request`, or the 400 that explains why not.
    private func subRequest(_ request: HTTPRequest) -> Result<SubRequest, QueryParameterError> {
        Result { () throws(QueryParameterError) -> SubRequest in
            let parameters = InternalAPI.parameters(of: request)
            let query = try CountQuery(parameters: parameters.filter { $0.name != "partitions" && $0.name != "cursor" })
            var cursor: ExportCursor?
            if let text = parameters.first(where: { $0.name == "cursor" })?.value {
                guard let parsed = InternalWire.parseCursor(text) else {
                    throw QueryParameterError(parameter: "cursor", reason: "must be '<server_time microseconds>:<32 hex digit id>', as X-Espy-Next-Cursor gave it")
                }
                cursor = parsed
            }
            guard let listed = parameters.first(where: { $0.name == "partitions" }) else {
                return SubRequest(query: query, partitions: nil, unavailable: [], cursor: cursor)
            }
            let requested = try InternalWire.parsePartitions(listed.value, partitionCount: shard.settings.partitionCount)
            let (readable, unavailable) = readiness(requested)
            return SubRequest(query: query, partitions: readable, unavailable: unavailable, cursor: cursor)
        }
    }

    private func count(_ request: HTTPRequest, _ reply: @escaping Reply) {
        switch subRequest(request) {
        case .failure(let error): reply(.error(.badRequest, "\(error)"))
        case .success(let sub):
            shard.count(sub.query, partitions: sub.partitions) { result in
                switch result {
                case .success(let counts): reply(.json(.ok, InternalWire.encode(counts), headers: sub.headers))
                case .failure(let error): reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
                }
            }
        }
    }

    private func newest(_ request: HTTPRequest, _ reply: @escaping Reply) {
        switch subRequest(request) {
        case .failure(let error): reply(.error(.badRequest, "\(error)"))
        case .success(let sub):
            guard let limit = sub.query.limit else { return reply(.error(.badRequest, "parameter 'limit' is required")) }
            shard.newest(sub.query, limit: limit, partitions: sub.partitions) { result in
                switch result {
                case .success(let records):
                    reply(HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")] + sub.headers,
                                       body: .bytes(InternalWire.encode(records))))
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
        case .success(let sub):
            shard.exportPage(after: sub.cursor, since: sub.query.since, until: sub.query.until, partitions: sub.partitions) { result in
                switch result {
                case .success(let page):
                    var headers = [("Content-Type", "application/x-ndjson")] + sub.headers
                    if let next = page.next { headers.append(("X-Espy-Next-Cursor", InternalWire.cursorText(next))) }
                    reply(HTTPResponse(status: .ok, headers: headers, body: .bytes(page.ndjson)))
                case .failure(let error):
                    reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
                }
            }
        }
    }

    /// Body: partitions, comma-separated, whose writes the caller could not deliver here (it
    /// keeps them as hints). This node may not know: the request may never have arrived.
    private func missed(_ request: HTTPRequest, _ reply: @escaping Reply) {
        guard let partitions = partitions(listedIn: request.body) else {
            return reply(.error(.badRequest, "body must list partitions 0..<\(shard.settings.partitionCount) separated by commas"))
        }
        onMissedWrites(partitions)
        reply(.json(.ok, Array("{}\n".utf8)))
    }

    // MARK: Repair

    /// A body of partitions, comma-separated, with spaces or line breaks around them.
    private func partitions(listedIn body: [UInt8]) -> [Int]? {
        let isSpace = { (byte: UInt8) in byte == 0x0A || byte == 0x0D || byte == 0x20 }
        guard let first = body.firstIndex(where: { !isSpace($0) }), let last = body.lastIndex(where: { !isSpace($0) }) else {
            return try? InternalWire.parsePartitions("", partitionCount: shard.settings.partitionCount)
        }
        return try? InternalWire.parsePartitions(String(decoding: body[first...last], as: UTF8.self), partitionCount: shard.settings.partitionCount)
    }

    /// Body: partitions, comma-separated. Answer: the digest of each one held here.
    private func digests(_ request: HTTPRequest, _ reply: @escaping Reply) {
        guard let partitions = partitions(listedIn: request.body) else {
            return reply(.error(.badRequest, "body must list partitions 0..<\(shard.settings.partitionCount) separated by commas"))
        }
        let held = partitions.compactMap { partition in shard.digests[partition].map { (partition, $0) } }
        reply(HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")], body: .bytes(InternalWire.encodeDigests(held))))
    }

    /// Body: `<partition> <member>` per line. This node pulls from each member the records of
    /// that partition it lacks, and answers once all are in (200) or one failed (503).
    private func pull(_ request: HTTPRequest, _ reply: @escaping Reply) {
        guard let repairs = InternalWire.decodeRepairs(request.body, partitionCount: shard.settings.partitionCount) else {
            return reply(.error(.badRequest, "body must hold lines '<partition> <member name>', partitions 0..<\(shard.settings.partitionCount), at most \(InternalWire.maxRepairsPerRequest)"))
        }
        onReadRepair(repairs) { succeeded in
            reply(succeeded ? .json(.ok, Array("{}\n".utf8)) : .error(.serviceUnavailable, "a pull failed; see this node's log"))
        }
    }

    /// `?partition=P`, body: the caller's bucket digests of P. Answer: this node's ids of P in
    /// the buckets that differ, so the caller can tell what each side lacks.
    private func diff(_ request: HTTPRequest, _ reply: @escaping Reply) {
        guard let partition = request.queryParameter("partition").flatMap({ Int($0) }),
              partition >= 0, partition < shard.settings.partitionCount else {
            return reply(.error(.badRequest, "parameter 'partition' must be a partition number 0..<\(shard.settings.partitionCount)"))
        }
        guard let theirs = BucketDigests(parsing: Substring(String(decoding: request.body, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines))) else {
            return reply(.error(.badRequest, "body must hold \(BucketDigests.bucketCount) bucket digests 'count:hash' separated by commas"))
        }
        shard.ids(inPartition: partition) { result in
            switch result {
            case .success(let ids):
                let differing = BucketDigests(ids: ids).differingBuckets(from: theirs)
                let differingSet = Set(differing)
                let answer = ids.filter { differingSet.contains(BucketDigests.bucket(of: $0)) }
                let headers = [("Content-Type", "text/plain"),
                               (InternalWire.differingBucketsHeader, differing.map(String.init).joined(separator: ","))]
                reply(HTTPResponse(status: .ok, headers: headers, body: .bytes(InternalWire.encodeIDs(answer))))
            case .failure(let error):
                reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
            }
        }
    }

    /// Body: record ids, one hex id per line. Answer: those records, as stored-record lines.
    private func fetch(_ request: HTTPRequest, _ reply: @escaping Reply) {
        guard let ids = InternalWire.decodeIDs(request.body) else {
            return reply(.error(.badRequest, "body must list record ids, one 32-digit hex id per line, at most \(InternalWire.maxIDsPerFetch) distinct"))
        }
        shard.storedRecords(ids: ids) { result in
            switch result {
            case .success(let ndjson):
                reply(HTTPResponse(status: .ok, headers: [("Content-Type", "application/x-ndjson")], body: .bytes(ndjson)))
            case .failure(let error):
                reply(.error(.serviceUnavailable, "storage failed: \(error.message)"))
            }
        }
    }
}
