import EspyCore

/// Where a shard lives and how it stores; fixed for the life of the shard's process.
public struct ShardSettings: Sendable {
    /// The SQLite file (its -wal and -shm files sit beside it).
    public var path: String
    /// Fixed for the life of the data: records are placed by `partition = hash(id) mod partitionCount`.
    public var partitionCount: Int
    /// Paths whose per-day counts are kept at ingest, so counts by them never scan records.
    public var dimensions: [FieldPath]
    /// Paths whose distinct values are kept per day and combination of dimension values, so
    /// `distinct=` by them, with groups and filters on dimensions, never reads bodies.
    public var distinctPaths: [FieldPath]
    /// Read connections, i.e. queries that can run at once on the thread pool.
    public var readerCount: Int
    /// `full` fsyncs every commit (an acknowledged write survives power loss); `normal`
    /// survives a process crash only.
    public var durability: Durability
    /// How many paths asked by reading bodies get a rollup of their own (`AdaptiveDimensions`);
    /// 0: none.
    public var adaptiveLimit = ShardSettings.defaultAdaptiveLimit
    public static let defaultAdaptiveLimit = 8
    /// Distinct values appended by writes are folded into the distinct rollup once this many
    /// rows have gathered: each fold walks the rollup's pages once, for that many rows.
    public var distinctFoldRows = 100_000

    public enum Durability: String, Sendable, CaseIterable {
        case full, normal
    }

    public init(path: String, partitionCount: Int = 4096, dimensions: [FieldPath] = ShardSettings.defaultDimensions,
                distinctPaths: [FieldPath] = ShardSettings.defaultDistinctPaths,
                readerCount: Int = ShardSettings.defaultReaderCount, durability: Durability = ShardSettings.defaultDurability) {
        self.path = path
        self.partitionCount = partitionCount
        self.dimensions = dimensions
        self.distinctPaths = distinctPaths
        self.readerCount = readerCount
        self.durability = durability
    }

    public static let defaultReaderCount = 2
    /// Power loss must not lose an acknowledged write unless the operator says it may.
    public static let defaultDurability = Durability.full

    /// The host identity fields: the original's `hostname`, and the collector's `host_id`.
    public static let defaultDistinctPaths: [FieldPath] = ["hostname", "host_id"].map { try! FieldPath(parsing: $0) }

    /// Every slot of a record's packed `dims`: the dimensions, then the distinct paths that are
    /// not dimensions too (a dimension's distinct values come from the combination rollup).
    var slotPaths: [FieldPath] { dimensions + distinctPaths.filter { !dimensions.contains($0) } }

    /// The profile fields people group by most (see docs/api.md).
    public static let defaultDimensions: [FieldPath] = [
        "python$version_info$0", "python$version_info$1", "python$implementation", "python$is_64bit",
        "python$openssl_version", "python$sqlite_version", "uname$system", "uname$machine",
        "linux_dist$name", "linux_dist$version",
    ].map { try! FieldPath(parsing: $0) }
}
