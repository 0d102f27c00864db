import EspyCore
import EspyHTTP
import Foundation

/// The formats nodes use between themselves on `/internal/v1/*`. Both ends are this code, so
/// they favour cheap parsing over generality; none of it is a public API.
public enum InternalWire {
    /// A count sub-request's form body: the question, paths in their canonical `$` spelling,
    /// and the partitions asked.
    public static func countForm(_ query: CountQuery, partitions: [Int]) -> String {
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

    /// `partitions=1,5,9`: the partitions a sub-request asks a node for.
    public static func partitionsParameter(_ partitions: [Int]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(partitions.count * 5)
        for (index, partition) in partitions.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONText.appendInteger(partition, to: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parsed byte by byte: a sub-request can list thousands of partitions. A partition listed
    /// twice is refused: the shard reads a list as long as every partition as the whole shard.
    public static func parsePartitions(_ text: String, partitionCount: Int) throws(QueryParameterError) -> [Int] {
        var partitions: [Int] = []
        var listed = [Bool](repeating: false, count: partitionCount)
        var value = 0
        var digits = 0
        func finish() throws(QueryParameterError) {
            guard digits > 0, value < partitionCount else {
                throw QueryParameterError(parameter: "partitions", reason: "must list partitions 0..<\(partitionCount) separated by commas")
            }
            guard !listed[value] else {
                throw QueryParameterError(parameter: "partitions", reason: "lists partition \(value) more than once")
            }
            listed[value] = true
            partitions.append(value)
            value = 0
            digits = 0
        }
        for byte in text.utf8 {
            if byte == UInt8(ascii: ",") {
                try finish()
            } else if byte &- UInt8(ascii: "0") < 10, digits < 9 {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            } else {
                throw QueryParameterError(parameter: "partitions", reason: "must list partitions 0..<\(partitionCount) separated by commas")
            }
        }
        if digits > 0 || !text.isEmpty { try finish() }
        return partitions
    }

    /// A partial count: `{"record_count":N,"error_count":M,"counts":{key:n}}`, and with
    /// `distinct` each key's sketch in base64 (`"distinct":{key:"..."}`).
    public static func encode(_ result: CountResult) -> [UInt8] {
        var counts = JSONObject()
        for (key, n) in result.counts { counts.add(key, n) }
        var answer = JSONObject()
        answer.add("record_count", result.recordCount)
        answer.add("error_count", result.missingCount)
        answer.add("counts", object: counts)
        if !result.distinct.isEmpty {
            var sketches = JSONObject()
            for (key, sketch) in result.distinct { sketches.add(key, Data(sketch.bytes).base64EncodedString()) }
            answer.add("distinct", object: sketches)
        }
        return answer.body()
    }

    public static func decodeCount(_ body: [UInt8]) -> CountResult? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let records = object["record_count"] as? Int, let missing = object["error_count"] as? Int,
              let counts = object["counts"] as? [String: Int] else { return nil }
        var result = CountResult(recordCount: records, counts: counts, missingCount: missing)
        for (key, text) in object["distinct"] as? [String: String] ?? [:] {
            guard let bytes = Data(base64Encoded: text), let sketch = DistinctSketch(bytes: bytes) else { return nil }
            result.distinct[key] = sketch
        }
        return result
    }

    /// A node's newest records, one per line: `<server_time µs> <id hex> <grouping>`, where the
    /// grouping is `-` (no group-by), `!` (path missing), `x` (excluded by the query's filters)
    /// or `=` and the key with `\` and newline escaped. A text line format: 100,000 of them parse in milliseconds, unlike JSON arrays.
    public static func encode(_ records: [NewestRecord]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.count * 48)
        for record in records {
            out.append(contentsOf: String(record.serverTime.microseconds).utf8)
            out.append(0x20)
            out.append(contentsOf: record.id.description.utf8)
            out.append(0x20)
            switch record.groupingKey {
            case _ where !record.admitted: out.append(UInt8(ascii: "x"))
            case .none: out.append(UInt8(ascii: "-"))
            case .some(nil): out.append(UInt8(ascii: "!"))
            case .some(let key?):
                out.append(UInt8(ascii: "="))
                for byte in key.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                    case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                    default: out.append(byte)
                    }
                }
            }
            out.append(0x0A)
        }
        return out
    }

    public static func decodeNewest(_ body: [UInt8]) -> [NewestRecord]? {
        var records: [NewestRecord] = []
        for line in body.split(separator: 0x0A, omittingEmptySubsequences: true) {
            let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let micros = Int64(String(decoding: parts[0], as: UTF8.self)),
                  let id = RecordID(hex: String(decoding: parts[1], as: UTF8.self)), let tag = parts[2].first else { return nil }
            let grouping: String??
            var admitted = true
            switch tag {
            case UInt8(ascii: "x"): grouping = .none; admitted = false
            case UInt8(ascii: "-"): grouping = .none
            case UInt8(ascii: "!"): grouping = .some(nil)
            case UInt8(ascii: "="): grouping = .some(unescape(parts[2].dropFirst()))
            default: return nil
            }
            records.append(NewestRecord(serverTime: Timestamp(microseconds: micros), id: id, groupingKey: grouping, admitted: admitted))
        }
        return records
    }

    private static func unescape(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var escaped = false
        for byte in bytes {
            if escaped {
                out.append(byte == UInt8(ascii: "n") ? 0x0A : byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Records as they travel to replicas: stored-record lines, one per line (see
    /// `RecordBatch(storedRecords:)` for the receiving side).
    public static func encode(_ records: [PreparedRecord]) -> [UInt8] {
        var out: [UInt8] = []
        for record in records {
            record.appendStored(to: &out)
            out.append(0x0A)
        }
        return out
    }

    /// An export cursor as a query value: `<server_time µs>:<id hex>`.
    public static func cursorText(_ cursor: ExportCursor) -> String {
        "\(cursor.serverTime):" + RecordID(bytes: cursor.id).description
    }

    public static func parseCursor(_ text: String) -> ExportCursor? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let time = Int64(parts[0]), let id = RecordID(hex: String(parts[1])) else { return nil }
        return ExportCursor(serverTime: time, id: id.bytes)
    }
}
