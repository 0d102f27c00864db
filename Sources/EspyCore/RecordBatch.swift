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
    /// Set for `import --keep-server-time`: records keep their own `server_time`.
    private var keepingServerTime = false

    /// Chooses the framing: NDJSON when the content type says so or the body does not start with
    /// `[` (after a byte-order mark, if any).
    public static func framing(contentType: String?, body: [UInt8]) -> Framing {
        if let contentType = contentType?.lowercased(),
           contentType.hasPrefix("application/x-ndjson") || contentType.hasPrefix("application/jsonl")
            || contentType.hasPrefix("application/x-jsonlines") || contentType.hasPrefix("application/json-seq") {
            return .ndjson
        }
        let first = body[contentStart(body)...].first(where: { !isWhitespace($0) })
        return first == UInt8(ascii: "[") ? .jsonArray : .ndjson
    }

    /// Where the body's text starts: after a UTF-8 byte-order mark, which files saved on Windows
    /// often begin with (the first NDJSON line, or the array's `[`, follows it).
    private static func contentStart(_ body: [UInt8]) -> Int {
        body.starts(with: JSONCompactor.byteOrderMark) ? JSONCompactor.byteOrderMark.count : 0
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// With `keepingServerTime`, each record's own `server_time` is kept (`PreparedRecord.imported`)
    /// instead of `serverTime` being stamped on it.
    public init(body: [UInt8], framing: Framing, serverTime: Timestamp, partitionCount: Int,
                keepingServerTime: Bool = false) throws(FramingError) {
        self.keepingServerTime = keepingServerTime
        let start = RecordBatch.contentStart(body)
        guard body[start...].contains(where: { !RecordBatch.isWhitespace($0) }) else {
            throw FramingError(description: "empty body: expected a JSON array or NDJSON records")
        }
        var batch = self
        try body.withUnsafeBufferPointer { bytes in
            Result { () throws(FramingError) in
                switch framing {
                case .jsonArray: try batch.splitArray(bytes, from: start, serverTime: serverTime, partitionCount: partitionCount)
                case .ndjson: batch.splitLines(bytes, from: start, serverTime: serverTime, partitionCount: partitionCount)
                }
            }
        }.get()
        self = batch
    }

    private mutating func add(_ element: UnsafeBufferPointer<UInt8>, index: Int, line: Int?,
                              serverTime: Timestamp, partitionCount: Int) {
        do {
            if keepingServerTime {
                records.append(try PreparedRecord.imported(json: UnsafeRawBufferPointer(element), partitionCount: partitionCount))
            } else {
                records.append(try PreparedRecord(json: UnsafeRawBufferPointer(element), serverTime: serverTime,
                                                  partitionCount: partitionCount))
            }
        } catch let error as PreparedRecord.ImportError {
            rejections.append(Rejection(index: index, line: line, reason: error.description))
        } catch {
            rejections.append(Rejection(index: index, line: line, reason: "\(error)"))
        }
    }

    private mutating func splitLines(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, serverTime: Timestamp,
                                     partitionCount: Int) {
        var lineStart = start
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

    /// Splits a JSON array by its structure alone (see `endOfElement`) and validates each element
    /// on its own, so that a syntax error inside one element rejects that element only. Throws
    /// only when the array itself is broken: no `[`, a missing `,`, an unterminated element.
    private mutating func splitArray(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, serverTime: Timestamp,
                                     partitionCount: Int) throws(FramingError) {
        var position = start
        func skipWhitespace() {
            while position < bytes.count, RecordBatch.isWhitespace(bytes[position]) { position += 1 }
        }
        func frameError(_ reason: String) -> FramingError {
            FramingError(description: "cannot split the JSON array into records: \(reason) at byte \(position)")
        }
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "[") else { throw frameError("expected '['") }
        position += 1
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
        } else {
            var index = 0
            while true {
                skipWhitespace()
                let elementStart = position
                do {
                    position = try RecordBatch.endOfElement(bytes, from: elementStart)
                } catch {
                    throw FramingError(description: "cannot split the JSON array into records: element \(index): \(error)")
                }
                add(UnsafeBufferPointer(rebasing: bytes[elementStart..<position]), index: index, line: nil,
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

    /// Where the array element starting at `start` ends, found by brackets and strings only:
    /// an object or array ends where its brackets balance, a string at its closing quote, any
    /// other token before white space or punctuation. What is inside is not checked here (the
    /// element's own validation reports it), so `{"b":}` frames as one element like any other.
    /// Cheaper than a full parse, which the element then gets anyway.
    static func endOfElement(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONSyntaxError) -> Int {
        guard start < bytes.count else { throw JSONSyntaxError("unexpected end of data, expected an element", at: start) }
        switch bytes[start] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var position = start
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "\""):
                    position = try endOfString(bytes, from: position)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return position + 1 }
                default: break
                }
                position += 1
            }
            throw JSONSyntaxError("unterminated element (unbalanced brackets)", at: start)
        case UInt8(ascii: "\""):
            return try endOfString(bytes, from: start)
        case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"):
            throw JSONSyntaxError("expected an element", at: start)
        default:
            var position = start
            while position < bytes.count, !isTokenEnd(bytes[position]) { position += 1 }
            return position
        }
    }

    /// After the closing quote of the string starting at `start`; a backslash escapes the next byte.
    private static func endOfString(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONSyntaxError) -> Int {
        var position = start + 1
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""): return position + 1
            case UInt8(ascii: "\\"): position += 2
            default: position += 1
            }
        }
        throw JSONSyntaxError("unterminated string", at: start)
    }

    private static func isTokenEnd(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "{"),
             UInt8(ascii: "\""):
            return true
        default:
            return isWhitespace(byte)
        }
    }
}

extension RecordBatch {
    /// Records as nodes pass them to each other: stored-record lines (`PreparedRecord.appendStored`:
    /// the id, a space, the exported form with the `server_time` its coordinator stamped). The id
    /// is taken as sent; a line without one (the exported form alone) gets the id of its body,
    /// as every record had before imported records existed. Only JSON syntax is
    /// checked (`origin: .stored`): a replica must take what its peers hold, including records
    /// stored before the duplicate-key and number-length rules for clients existed.
    public init(storedRecords body: [UInt8], partitionCount: Int) {
        records = []
        rejections = []
        var index = 0
        for line in body.split(separator: 0x0A) where !line.isEmpty {
            defer { index += 1 }
            let (sentID, json) = RecordBatch.splitStoredLine(line)
            json.withUnsafeBufferPointer { bytes in
                guard let key = PreparedRecord.serverTimeExtractor.groupingKeys(from: bytes)[0],
                      let serverTime = try? Timestamp(parsing: key) else {
                    rejections.append(Rejection(index: index, line: nil, reason: "stored record without a valid server_time"))
                    return
                }
                do {
                    let parsed = try PreparedRecord(json: UnsafeRawBufferPointer(bytes), serverTime: serverTime,
                                                    partitionCount: partitionCount, origin: .stored)
                    let id = sentID ?? parsed.id
                    records.append(PreparedRecord(id: id, partition: id.partition(of: partitionCount), serverTime: serverTime,
                                                  body: parsed.body))
                } catch {
                    rejections.append(Rejection(index: index, line: nil, reason: "\(error)"))
                }
            }
        }
    }

    /// `<32 hex digits> <json>` → the id and the JSON; a bare JSON line → no id.
    public static func splitStoredLine(_ line: ArraySlice<UInt8>) -> (RecordID?, ArraySlice<UInt8>) {
        let hexCount = RecordID.byteCount * 2
        guard line.count > hexCount, line[line.startIndex + hexCount] == 0x20,
              let id = RecordID(hex: String(decoding: line.prefix(hexCount), as: UTF8.self)) else { return (nil, line) }
        return (id, line.dropFirst(hexCount + 1))
    }
}
