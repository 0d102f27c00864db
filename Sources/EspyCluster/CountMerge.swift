import EspyCore

/// Combines the partial answers of a scatter-gather count. Each partial covers a disjoint set of
/// partitions (the `QueryPlan` guarantees it), so a record is in at most one of them.
public enum CountMerge {
    /// Partial counts over disjoint record sets add up.
    public static func sum(_ partials: [CountResult]) -> CountResult {
        var total = CountResult()
        for partial in partials { total.merge(partial) }
        return total
    }

    /// The global `limit` newest records among the partials, newest first.
    ///
    /// Each partial should be its node's newest records, newest first, at most `limit` of them;
    /// one that is not in order is sorted first rather than trusted. A record appearing twice
    /// (same server time and id) is taken once, so a duplicate can never be counted twice.
    public static func newest(_ partials: [[RecentRecord]], limit: Int) -> [RecentRecord] {
        precondition(limit >= 0, "a limit cannot be negative")
        let heads = partials.filter { !$0.isEmpty }.map { partial -> [RecentRecord] in
            isNewestFirst(partial) ? partial : partial.sorted(by: RecentRecord.isNewer)
        }
        var positions = [Int](repeating: 0, count: heads.count)
        var heap = NewestFirstHeap()
        for index in heads.indices { heap.push(heads[index][0], from: index) }
        var merged: [RecentRecord] = []
        merged.reserveCapacity(min(limit, heads.reduce(0) { $0 + $1.count }))
        while merged.count < limit, let (record, source) = heap.pop() {
            if merged.last.map({ $0.serverTime == record.serverTime && $0.id == record.id }) != true {
                merged.append(record)
            }
            positions[source] += 1
            if positions[source] < heads[source].count { heap.push(heads[source][positions[source]], from: source) }
        }
        return merged
    }

    /// Counts records the way a shard counts its own: every record adds to `recordCount`, and a
    /// grouped one to its key or to `missingCount`.
    public static func count(_ records: [RecentRecord]) -> CountResult {
        var result = CountResult()
        for record in records where record.grouping != .excluded {
            result.recordCount += 1
            switch record.grouping {
            case .ungrouped, .excluded: break
            case .missing: result.missingCount += 1
            case let .key(key): result.counts[key, default: 0] += 1
            }
        }
        return result
    }

    /// The exact answer to a `limit` query: the global newest `limit`, counted.
    public static func countNewest(_ partials: [[RecentRecord]], limit: Int) -> CountResult {
        count(newest(partials, limit: limit))
    }

    private static func isNewestFirst(_ records: [RecentRecord]) -> Bool {
        zip(records, records.dropFirst()).allSatisfy { !RecentRecord.isNewer($1, than: $0) }
    }
}

/// A binary max-heap of partial heads by recency: the k-way merge takes O(N log k) for N records
/// from k nodes instead of sorting everything every node sent.
private struct NewestFirstHeap {
    private var items: [(record: RecentRecord, source: Int)] = []

    mutating func push(_ record: RecentRecord, from source: Int) {
        items.append((record, source))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard RecentRecord.isNewer(items[child].record, than: items[parent].record) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (RecentRecord, Int)? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var newest = parent
                if left < items.count && RecentRecord.isNewer(items[left].record, than: items[newest].record) { newest = left }
                if right < items.count && RecentRecord.isNewer(items[right].record, than: items[newest].record) { newest = right }
                if newest == parent { break }
                items.swapAt(parent, newest)
                parent = newest
            }
        }
        return (top.record, top.source)
    }
}
