import EspyCluster
import EspyCore

/// Repair's formats on `/internal/v1/repair/*`: plain text lines, parsed byte-cheaply.
extension InternalWire {
    /// `<partition> <count>:<hash hex>` per line, for the partitions held.
    public static func encodeDigests(_ digests: [(partition: Int, digest: PartitionDigest)]) -> [UInt8] {
        var out: [UInt8] = []
        for (partition, digest) in digests {
            out.append(contentsOf: "\(partition) \(digest)\n".utf8)
        }
        return out
    }

    public static func decodeDigests(_ body: [UInt8]) -> [Int: PartitionDigest]? {
        var digests: [Int: PartitionDigest] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let partition = Int(parts[0]), let digest = PartitionDigest(parsing: parts[1]) else { return nil }
            digests[partition] = digest
        }
        return digests
    }

    /// Read repairs, `<partition> <member>` per line.
    public static func encodeRepairs(_ repairs: [PartitionReplica]) -> [UInt8] {
        Array(repairs.map { "\($0.partition) \($0.member)\n" }.joined().utf8)
    }

    /// At most this many a request: a partition's replicas, for every partition, would be fewer.
    public static let maxRepairsPerRequest = 100_000

    public static func decodeRepairs(_ body: [UInt8], partitionCount: Int) -> [PartitionReplica]? {
        var repairs: Set<PartitionReplica> = []
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let partition = Int(parts[0]), (0..<partitionCount).contains(partition),
                  !parts[1].isEmpty, repairs.count < maxRepairsPerRequest else { return nil }
            repairs.insert(PartitionReplica(partition: partition, member: MemberName(String(parts[1]))))
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

    public static func decodeIDs(_ body: [UInt8]) -> [RecordID]? {
        var ids: [RecordID] = []
        for line in body.split(separator: 0x0A) {
            guard let id = RecordID(hex: String(decoding: line, as: UTF8.self)) else { return nil }
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

    /// On a diff answer: the buckets whose digests differed, comma-separated.
    public static let differingBucketsHeader = "X-Espy-Buckets"

    public static func parseBuckets(_ text: String) -> Set<Int> {
        Set(text.split(separator: ",").compactMap { Int($0) })
    }
}
