/// What one replica holds of one partition, in 16 bytes: how many records and an
/// order-independent hash of their ids.
///
/// Records are immutable and their ids derive from their content, so a partition's data is a
/// set of ids; two replicas hold the same set exactly when their digests are equal (up to a
/// 2⁻⁶⁴ collision). XOR makes the hash independent of insertion order and cheap to keep up to
/// date on every write.
public struct PartitionDigest: Hashable, Sendable, CustomStringConvertible {
    public var count: Int
    public var hash: UInt64

    public init(count: Int = 0, hash: UInt64 = 0) {
        self.count = count
        self.hash = hash
    }

    public mutating func add(_ id: RecordID) {
        count += 1
        hash ^= PartitionDigest.word(of: id)
    }

    /// The id's last 8 bytes: the first 8 decide the partition, so within one partition their
    /// low bits are all alike.
    static func word(of id: RecordID) -> UInt64 {
        var word: UInt64 = 0
        for byte in id.bytes[8..<16] { word = word << 8 | UInt64(byte) }
        return word
    }

    public var description: String { "\(count):\(String(hash, radix: 16))" }

    /// The form `count:hash-hex` used between nodes.
    public init?(parsing text: Substring) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let count = Int(parts[0]), count >= 0, let hash = UInt64(parts[1], radix: 16) else { return nil }
        self.init(count: count, hash: hash)
    }
}

/// One partition's digest split by the first hex digit of the id: when two replicas' partition
/// digests differ, comparing these tells which sixteenth of the ids to exchange.
public struct BucketDigests: Hashable, Sendable {
    public static let bucketCount = 16

    public private(set) var buckets: [PartitionDigest]

    public init(buckets: [PartitionDigest] = Array(repeating: PartitionDigest(), count: BucketDigests.bucketCount)) {
        precondition(buckets.count == BucketDigests.bucketCount, "a partition has \(BucketDigests.bucketCount) buckets")
        self.buckets = buckets
    }

    public init(ids: [RecordID]) {
        self.init()
        for id in ids { buckets[BucketDigests.bucket(of: id)].add(id) }
    }

    public static func bucket(of id: RecordID) -> Int { Int(id.bytes[0] >> 4) }

    /// Buckets whose digests differ from `other`'s, ascending.
    public func differingBuckets(from other: BucketDigests) -> [Int] {
        (0..<BucketDigests.bucketCount).filter { buckets[$0] != other.buckets[$0] }
    }

    /// `count:hash` per bucket, comma-separated.
    public var description: String { buckets.map(\.description).joined(separator: ",") }

    public init?(parsing text: Substring) {
        var buckets: [PartitionDigest] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let digest = PartitionDigest(parsing: part) else { return nil }
            buckets.append(digest)
        }
        guard buckets.count == BucketDigests.bucketCount else { return nil }
        self.init(buckets: buckets)
    }
}
