import EspyCluster
import EspyCore

/// Repair's formats on `/internal/v1/repair/*`: plain text lines, parsed byte-cheaply.
extension InternalWire {
    /// `<partition> <count>:<hash hex>` per line, for the partitions held. Built byte by byte:
    /// a verified query asks every replica holder for thousands of these.
    public static func encodeDigests(_ digests: [(partition: Int, digest: PartitionDigest)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(digests.count * 28)
        for (partition, digest) in digests {
            JSONText.appendInteger(partition, to: &out)
            out.append(UInt8(ascii: " "))
            JSONText.appendInteger(digest.count, to: &out)
            out.append(UInt8(ascii: ":"))
            appendHex(digest.hash, to: &out)
            out.append(0x0A)
        }
        return out
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendHex(_ value: UInt64, to out: inout [UInt8]) {
        var shift = max(0, (63 - value.leadingZeroBitCount) / 4 * 4)
        while shift >= 0 {
            out.append(hexDigits[Int((value >> UInt64(shift)) & 0xF)])
            shift -= 4
        }
    }

    /// Parsed byte by byte: a verified query reads one of these from every replica holder.
    public static func decodeDigests(_ body: [UInt8]) -> [Int: PartitionDigest]? {
        var digests: [Int: PartitionDigest] = [:]
        var index = body.startIndex
        /// Digits up to `terminator` (or the end, for the last field of the last line).
        func number(radix: UInt64, until terminator: UInt8) -> UInt64? {
            var value: UInt64 = 0
            var digits = 0
            while index < body.endIndex, body[index] != terminator {
                guard let digit = hexDigit(body[index]), digit < radix else { return nil }
                let (shifted, overflowed) = value.multipliedReportingOverflow(by: radix)
                let (sum, carried) = shifted.addingReportingOverflow(digit)
                guard !overflowed, !carried else { return nil }
                value = sum
                digits += 1
                index += 1
            }
            guard digits > 0, index < body.endIndex || terminator == 0x0A else { return nil }
            index += 1
            return value
        }
        while index < body.endIndex {
            guard let partition = number(radix: 10, until: UInt8(ascii: " ")), partition <= Int.max,
                  let count = number(radix: 10, until: UInt8(ascii: ":")), count <= Int.max,
                  let hash = number(radix: 16, until: 0x0A) else { return nil }
            digests[Int(partition)] = PartitionDigest(count: Int(count), hash: hash)
        }
        return digests
    }

    private static func hexDigit(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt64(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Read repairs, `<partition> <member>` per line.
    public static func encodeRepairs(_ repairs: [PartitionReplica]) -> [UInt8] {
        Array(repairs.map { "\($0.partition) \($0.member)\n" }.joined().utf8)
    }

    /// At most this many a request: a partition's replicas, for every partition, would be fewer.
    public static let maxRepairsPerRequest = 100_000

    public static func decodeRepairs(_ body: [UInt8], partitionCount: Int) -> [PartitionReplica]? {
        var repairs: Set<PartitionReplica> = []
        // Split on the byte, not the Character: "\r\n" is one Character, so a name ending in CR
        // lost its line break and did not come back (found by InternalWireFuzzer).
        for line in body.split(separator: 0x0A) {
            let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
            guard parts.count == 2, let partition = Int(String(decoding: parts[0], as: UTF8.self)),
                  (0..<partitionCount).contains(partition), !parts[1].isEmpty, repairs.count < maxRepairsPerRequest else { return nil }
            repairs.insert(PartitionReplica(partition: partition, member: MemberName(String(decoding: parts[1], as: UTF8.self))))
        }
        guard !repairs.isEmpty else { return nil }
        return repairs.sorted { ($0.partition, $0.member) < ($1.partition, $1.member) }
    }

    /// Record ids as lower-case hex, one per line.
    public static func encodeIDs(_ ids: [RecordID]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 33)
        for id in ids {
            out.append(contentsOf: id.description.utf8)
            out.append(0x0A)
        }
        return out
    }

    /// Ids asked of `repair/fetch` at most at once: ten of the repairer's batches. The answer
    /// holds each record once, so its size is bounded by this many records.
    public static let maxIDsPerFetch = 10_000

    /// The distinct ids listed, in the order first listed; nil when a line is not an id or
    /// more than `maxIDsPerFetch` distinct ids are listed.
    public static func decodeIDs(_ body: [UInt8]) -> [RecordID]? {
        var ids: [RecordID] = []
        var seen = Set<RecordID>()
        for line in body.split(separator: 0x0A) {
            guard let id = RecordID(hex: String(decoding: line, as: UTF8.self)) else { return nil }
            guard seen.insert(id).inserted else { continue }
            guard ids.count < maxIDsPerFetch else { return nil }
            ids.append(id)
        }
        return ids
    }

    /// The partitions a node declined to answer for, as a response header: the coordinator asks
    /// another replica for them.
    public static let unavailableHeader = "X-Espy-Unavailable"

    /// The partitions named in an `X-Espy-Unavailable` value (none without the header); nil if
    /// the value is not a partition list.
    public static func declinedPartitions(_ header: String?, partitionCount: Int) -> [Int]? {
        guard let header else { return [] }
        return try? parsePartitions(header, partitionCount: partitionCount)
    }

    /// On replica records: the digest of the membership view the sender placed them by.
    public static let placementHeader = "X-Espy-Placement"

    /// On a diff answer: the buckets whose digests differed, comma-separated.
    public static let differingBucketsHeader = "X-Espy-Buckets"

    public static func parseBuckets(_ text: String) -> Set<Int> {
        Set(text.split(separator: ",").compactMap { Int($0) })
    }
}
