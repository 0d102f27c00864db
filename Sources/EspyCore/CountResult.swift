/// The answer to a `CountQuery` over some set of records; partial answers over disjoint record
/// sets merge by addition, which is how one node's shard results and, later, peers' results combine.
public struct CountResult: Equatable, Sendable {
    /// Records considered (in range, within the limit).
    public var recordCount: Int
    /// Records grouped, by grouping key (see `JSONText.groupingKey`); empty without a group-by.
    public var counts: [String: Int]
    /// Records that lack the grouped path.
    public var missingCount: Int
    /// With `distinct=PATH`: the distinct values of PATH per key of `counts` ("" without a
    /// group-by or bucket).
    public var distinct: [String: DistinctSketch] = [:]

    public init(recordCount: Int = 0, counts: [String: Int] = [:], missingCount: Int = 0) {
        self.recordCount = recordCount
        self.counts = counts
        self.missingCount = missingCount
    }

    public mutating func merge(_ other: CountResult) {
        recordCount += other.recordCount
        missingCount += other.missingCount
        counts.merge(other.counts, uniquingKeysWith: +)
        for (key, sketch) in other.distinct { distinct[key, default: DistinctSketch()].merge(sketch) }
    }

    /// Groups largest first, ties by key, so answers are stable and read like a leaderboard.
    public var sortedCounts: [(key: String, count: Int)] {
        counts.map { (key: $0.key, count: $0.value) }.sorted {
            $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key
        }
    }
}
