/// How sure a query is that the replica it reads holds every acknowledged record
/// (config `[cluster] read_consistency`, and `read_consistency=` per request).
public enum ReadConsistency: String, Hashable, Sendable, CaseIterable {
    /// One replica per partition, trusted unless it is known to be behind (catching up, hinted,
    /// declined). Fastest; right after a write is acknowledged, the replica read may not have it yet.
    case one
    /// Before reading, enough replicas' digests are compared that one of them must hold every
    /// acknowledged record; where they differ, the replica to read first pulls what the
    /// others hold. Costs one digest round trip per query, and a repair where replicas differ.
    case verified

    public static let `default` = ReadConsistency.one

    /// `one` or `verified`, any case.
    public init?(text: String) {
        self.init(rawValue: text.lowercased())
    }

    /// "one or verified", for messages.
    public static var choices: String { allCases.map(\.rawValue).joined(separator: " or ") }
}
