/// A validated record ready to store: compact JSON plus the identity and placement derived from it.
public struct PreparedRecord: Sendable, Equatable {
    public let id: RecordID
    public let partition: Int
    public let serverTime: Timestamp
    /// The record's JSON object, compacted, without any client-sent `server_time`.
    public let body: [UInt8]

    public init(id: RecordID, partition: Int, serverTime: Timestamp, body: [UInt8]) {
        self.id = id
        self.partition = partition
        self.serverTime = serverTime
        self.body = body
    }

    /// Validates and compacts one JSON object received from a client (or, with `origin: .stored`,
    /// from another node). `skippingByteOrderMark` is for a whole request body, which may start
    /// with one.
    public init(json: UnsafeRawBufferPointer, serverTime: Timestamp, partitionCount: Int,
                origin: JSONCompactor.Origin = .client, skippingByteOrderMark: Bool = false) throws(JSONSyntaxError) {
        let body = try JSONCompactor.compactObject(json, droppingTopLevelKey: "server_time", origin: origin,
                                                   skippingByteOrderMark: skippingByteOrderMark)
        let id = RecordID(content: body)
        self.init(id: id, partition: id.partition(of: partitionCount), serverTime: serverTime, body: body)
    }

    /// A record migrated from another store (`import --keep-server-time`): its own top-level
    /// `server_time` (the original server's form or RFC 3339) is kept, and the id covers it,
    /// so two events that differ only in time stay two, and importing the same file again
    /// stores nothing twice.
    public static func imported(json: UnsafeRawBufferPointer, partitionCount: Int) throws(ImportError) -> PreparedRecord {
        let bytes = json.assumingMemoryBound(to: UInt8.self)
        guard let text = PreparedRecord.serverTimeExtractor.groupingKeys(from: bytes)[0] else {
            throw ImportError(description: "keep_server_time: the record has no top-level server_time string")
        }
        let serverTime: Timestamp
        do { serverTime = try Timestamp(parsingImported: text) } catch {
            throw ImportError(description: "keep_server_time: \(error)")
        }
        let record: PreparedRecord
        do { record = try PreparedRecord(json: json, serverTime: serverTime, partitionCount: partitionCount) } catch {
            throw ImportError(description: error.description)
        }
        var content = record.body
        content.append(0)
        content.append(contentsOf: String(serverTime.microseconds).utf8)
        let id = RecordID(content: content)
        return PreparedRecord(id: id, partition: id.partition(of: partitionCount), serverTime: serverTime, body: record.body)
    }

    public struct ImportError: Error, CustomStringConvertible {
        public let description: String
    }

    static let serverTimeExtractor = JSONPathExtractor(paths: [FieldPath(segments: ["server_time"])])

    /// The line nodes pass a stored record in (replica writes, hints, repair): its id, a space,
    /// then the exported form. The id travels because it is not always the hash of the body
    /// (imported records' ids cover their time), and a replica must store what its peers store.
    public func appendStored(to out: inout [UInt8]) {
        PreparedRecord.appendStored(id: id, body: body, serverTime: serverTime, to: &out)
    }

    public static func appendStored(id: RecordID, body: UnsafeBufferPointer<UInt8>, serverTime: Timestamp, to out: inout [UInt8]) {
        out.append(contentsOf: id.description.utf8)
        out.append(0x20)
        appendExported(body: body, serverTime: serverTime, to: &out)
    }

    public static func appendStored(id: RecordID, body: [UInt8], serverTime: Timestamp, to out: inout [UInt8]) {
        body.withUnsafeBufferPointer { appendStored(id: id, body: $0, serverTime: serverTime, to: &out) }
    }

    /// The stored record as clients read it back: the received object with `server_time` first.
    public func appendExported(to out: inout [UInt8]) {
        PreparedRecord.appendExported(body: body, serverTime: serverTime, to: &out)
    }

    public static func appendExported(body: UnsafeBufferPointer<UInt8>, serverTime: Timestamp, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"server_time":""#.utf8)
        out.append(contentsOf: serverTime.description.utf8)
        out.append(UInt8(ascii: "\""))
        // body is a compact object: "{}" or "{" member ( "," member )* "}"
        if body.count > 2 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: body[1...]))
    }

    public static func appendExported(body: [UInt8], serverTime: Timestamp, to out: inout [UInt8]) {
        body.withUnsafeBufferPointer { appendExported(body: $0, serverTime: serverTime, to: &out) }
    }
}
