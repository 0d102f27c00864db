import EspyCore
import EspyStorage

/// Config `[storage]`: what the shard keeps and how it commits. The shard's own settings add
/// its path and partition count, which come from `[node]` and `[cluster]`.
public struct StorageSettings: Equatable {
    /// Paths whose per-day counts are kept at ingest; no path twice.
    public var dimensions = ShardSettings.defaultDimensions
    /// Paths whose distinct values are kept per day and combination of dimensions; no path twice.
    public var distinct = ShardSettings.defaultDistinctPaths
    /// Paths asked by reading bodies that get a rollup of their own, at most; 0: none.
    public var adaptiveDimensions = ShardSettings.defaultAdaptiveLimit
    public var readers = ShardSettings.defaultReaderCount
    public var durability = ShardSettings.defaultDurability

    public init() {}
}
