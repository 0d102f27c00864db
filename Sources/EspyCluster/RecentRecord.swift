import EspyCore

/// What a node returns per record for a `limit=N` query: enough to pick the global newest N
/// and count them, and nothing else (no body).
///
/// Counts of each node's newest N cannot simply be added: the global newest N may take 10 from
/// one node and none from another. Each node therefore sends its own newest N records in this
/// form (every one of the global newest N is among its node's newest N, so nothing is lost), and
/// `CountMerge.countNewest` picks and counts the global N.
public struct RecentRecord: Hashable, Sendable {
    /// The record's value at the grouped path, as the count will group it.
    public enum Grouping: Hashable, Sendable {
        /// The query has no `group_by`.
        case ungrouped
        /// The record lacks the grouped path (counted in `missingCount`).
        case missing
        /// `JSONText.groupingKey` of the value (a `CompositeKey` for a composite query).
        case key(String)
        /// The query's filters exclude it: it takes its place among the newest, uncounted.
        case excluded
    }

    public let serverTime: Timestamp
    public let id: RecordID
    public let grouping: Grouping

    public init(serverTime: Timestamp, id: RecordID, grouping: Grouping) {
        self.serverTime = serverTime
        self.id = id
        self.grouping = grouping
    }

    /// The storage order for "most recent": `server_time DESC, id DESC`, ids compared byte by
    /// byte as SQLite compares BLOBs, so the cluster picks the same N a single node would.
    public static func isNewer(_ lhs: RecentRecord, than rhs: RecentRecord) -> Bool {
        if lhs.serverTime != rhs.serverTime { return lhs.serverTime > rhs.serverTime }
        return rhs.id.bytes.lexicographicallyPrecedes(lhs.id.bytes)
    }
}
