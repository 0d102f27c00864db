import EspyCluster
import EspyCore
import EspyWire

// The formats nodes read from each other on `/internal/v1/*`: partition lists (parameters
// and the `X-Espy-Unavailable` header), partial counts, newest-record lines, export cursors,
// repair digests, read repairs, id lists and differing buckets.
//
// Input: a selector byte, then the body or header value.
// Checked beyond "no crash": whatever decodes, encoded as the sending node would, decodes to
// the same value.

private let partitionCount = 4096

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInternalWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let text = String(decoding: body, as: UTF8.self)
    switch data[0] % 8 {
    case 0:
        guard let partitions = try? InternalWire.parsePartitions(text, partitionCount: partitionCount) else { return 0 }
        let again = try? InternalWire.parsePartitions(InternalWire.partitionsParameter(partitions), partitionCount: partitionCount)
        fuzzCheck(again == partitions, "partitions \(partitions) read back as \(String(describing: again))")
        _ = InternalWire.declinedPartitions(text, partitionCount: partitionCount)
    case 1:
        guard let result = InternalWire.decodeCount(body) else { return 0 }
        fuzzCheck(InternalWire.decodeCount(InternalWire.encode(result)) == result, "a partial count reads back differently")
    case 2:
        guard let records = InternalWire.decodeNewest(body) else { return 0 }
        fuzzCheck(InternalWire.decodeNewest(InternalWire.encode(records)) == records, "newest records read back differently")
    case 3:
        guard let cursor = InternalWire.parseCursor(text) else { return 0 }
        fuzzCheck(InternalWire.parseCursor(InternalWire.cursorText(cursor)) == cursor, "cursor \(text) reads back differently")
    case 4:
        guard let digests = InternalWire.decodeDigests(body) else { return 0 }
        let sorted = digests.sorted { $0.key < $1.key }.map { (partition: $0.key, digest: $0.value) }
        fuzzCheck(InternalWire.decodeDigests(InternalWire.encodeDigests(sorted)) == digests, "digests read back differently")
    case 5:
        guard let repairs = InternalWire.decodeRepairs(body, partitionCount: partitionCount) else { return 0 }
        let again = InternalWire.decodeRepairs(InternalWire.encodeRepairs(repairs), partitionCount: partitionCount)
        fuzzCheck(again == repairs, "read repairs read back differently")
    case 6:
        guard let ids = InternalWire.decodeIDs(body) else { return 0 }
        fuzzCheck(ids.count <= InternalWire.maxIDsPerFetch, "\(ids.count) ids accepted")
        fuzzCheck(InternalWire.decodeIDs(InternalWire.encodeIDs(ids)) == ids, "ids read back differently")
    default:
        _ = InternalWire.parseBuckets(text)
    }
    return 0
}
