import EspyCore

/// What a node's shard holds, as far as placement and repair can tell: record ids per partition
/// and the per-partition digests the real shard keeps in the same transaction as each write.
/// Records are immutable and their ids content-derived, so ids are all there is to compare.
public struct SimulatedShard: Sendable {
    public private(set) var records: [Int: Set<RecordID>] = [:]
    public private(set) var digests: [Int: PartitionDigest] = [:]

    public init() {}

    /// `INSERT OR IGNORE`: returns, per record, whether it was new here.
    public mutating func write(_ ids: [RecordID], partitionCount: Int) -> [Bool] {
        ids.map { id in
            let partition = id.partition(of: partitionCount)
            guard records[partition, default: []].insert(id).inserted else { return false }
            digests[partition, default: PartitionDigest()].add(id)
            return true
        }
    }

    public func ids(in partition: Int) -> Set<RecordID> { records[partition] ?? [] }

    public var recordCount: Int { records.values.reduce(0) { $0 + $1.count } }

    /// The records, their rollups and digests of a handed-off partition, gone in one transaction.
    public mutating func drop(_ partition: Int) {
        records[partition] = nil
        digests[partition] = nil
    }
}
