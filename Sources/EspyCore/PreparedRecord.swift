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
