/// Splits a batch upload into records and prepares each one, so that one bad record is reported
/// and skipped while the others are stored.
public struct RecordBatch: Sendable {
    public enum Framing: Sendable {
        /// One JSON array of objects.
        case jsonArray
        /// One JSON object per line; blank lines are skipped.
        case ndjson
    }

    public struct Rejection: Sendable, Equatable {
        /// Position of the record in the batch, from 0 (array element, or non-blank line).
        public let index: Int
        /// 1-based line of an NDJSON record, for finding it in the uploaded file.
        public let line: Int?
        public let reason: String
    }

    /// The body could not be split into records at all; nothing of it may be stored.
    public struct FramingError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public var records: [PreparedRecord] = []
    public var rejections: [Rejection] = []

    /// Chooses the framing: NDJSON when the content type says so or the body does not start with `[`.
    public static func framing(contentType: String?, body: [UInt8]) -> Framing {
        if let contentType = contentType?.lowercased(),
           contentType.hasPrefix("application/x-ndjson") || contentType.hasPrefix("application/jsonl")
            || contentType.hasPrefix("application/x-jsonlines") || contentType.hasPrefix("application/json-seq") {
            return .ndjson
        }
        let first = body.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 })
        return first == UInt8(ascii: "[") ? .jsonArray : .ndjson
    }

    public init(body: [UInt8], framing: Framing, serverTime: Timestamp, partitionCount: Int) throws(FramingError) {
        guard body.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else {
            throw FramingError(description: "empty body: expected a JSON array or NDJSON records")
        }
        var batch = self
        try body.withUnsafeBufferPointer { bytes in
            Result { () throws(FramingError) in
                switch framing {
                case .jsonArray: try batch.splitArray(bytes, serverTime: serverTime, partitionCount: partitionCount)
                case .ndjson: batch.splitLines(bytes, serverTime: serverTime, partitionCount: partitionCount)
                }
            }
        }.get()
        self = batch
    }

    private mutating func add(_ element: UnsafeBufferPointer<UInt8>, index: Int, line: Int?,
                              serverTime: Timestamp, partitionCount: Int) {
        do {
            records.append(try PreparedRecord(json: UnsafeRawBufferPointer(element), serverTime: serverTime,
                                              partitionCount: partitionCount))
        } catch {
            rejections.append(Rejection(index: index, line: line, reason: error.description))
        }
    }

    private mutating func splitLines(_ bytes: UnsafeBufferPointer<UInt8>, serverTime: Timestamp, partitionCount: Int) {
        var lineStart = 0
        var lineNumber = 1
        var index = 0
        while lineStart <= bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            if line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) {
                add(line, index: index, line: lineNumber, serverTime: serverTime, partitionCount: partitionCount)
                index += 1
            }
            lineStart = lineEnd + 1
            lineNumber += 1
        }
    }

    private mutating func splitArray(_ bytes: UnsafeBufferPointer<UInt8>, serverTime: Timestamp,
                                     partitionCount: Int) throws(FramingError) {
        var position = 0
        func skipWhitespace() {
            while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
        }
        func frameError(_ reason: String) -> FramingError {
            FramingError(description: "cannot split the JSON array into records: \(reason) at byte \(position)")
        }
        skipWhitespace()
        position += 1  // '[' (checked by framing(contentType:body:) or reported below)
        guard bytes[position - 1] == UInt8(ascii: "[") else { throw frameError("expected '['") }
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
        } else {
            var index = 0
            while true {
                skipWhitespace()
                let start = position
                do {
                    position = try JSONCompactor.endOfValue(in: bytes, from: start)
                } catch {
                    throw FramingError(description: "cannot split the JSON array into records: element \(index): \(error)")
                }
                add(UnsafeBufferPointer(rebasing: bytes[start..<position]), index: index, line: nil,
                    serverTime: serverTime, partitionCount: partitionCount)
                index += 1
                skipWhitespace()
                guard position < bytes.count else { throw frameError("unterminated array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; break }
                throw frameError("expected ',' or ']'")
            }
        }
        skipWhitespace()
        guard position == bytes.count else { throw frameError("unexpected data after the array") }
    }
}

extension RecordBatch {
    private static let serverTimeExtractor = JSONPathExtractor(paths: [FieldPath(segments: ["server_time"])])

    /// Records as nodes pass them to each other: NDJSON in the exported form, each carrying the
    /// `server_time` its coordinator stamped. Ids and partitions come out as on the coordinator,
    /// since the id is derived from the record without `server_time`.
    public init(storedRecords body: [UInt8], partitionCount: Int) {
        records = []
        rejections = []
        var index = 0
        for line in body.split(separator: 0x0A) where !line.isEmpty {
            defer { index += 1 }
            line.withUnsafeBufferPointer { bytes in
                guard let key = RecordBatch.serverTimeExtractor.groupingKeys(from: bytes)[0],
                      let serverTime = try? Timestamp(parsing: key) else {
                    rejections.append(Rejection(index: index, line: nil, reason: "stored record without a valid server_time"))
                    return
                }
                do {
                    records.append(try PreparedRecord(json: UnsafeRawBufferPointer(bytes), serverTime: serverTime,
                                                      partitionCount: partitionCount))
                } catch {
                    rejections.append(Rejection(index: index, line: nil, reason: "\(error)"))
                }
            }
        }
    }
}
