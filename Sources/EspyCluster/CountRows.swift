import EspyCore

/// How the rows of a count answer are ordered: by count (largest first), by key, or by key read
/// as a version (`2.7 < 3.9 < 3.10`, `OpenSSL 1.1.1w < OpenSSL 3.0.11`).
public enum CountOrder: String, Sendable, CaseIterable {
    case count, key, version
}

/// The rows of a count answer (`rows`): one per key, with its share of the total, ordered and
/// cut to the `top` N plus an `(other)` row holding the rest, so shares still add up to 100.
/// With `bucket`, rows come bucket by bucket, oldest first; order, top and shares apply within
/// each bucket ("what share ran 2.7, per week").
public struct CountRows {
    public struct Row: Equatable {
        /// The bucket's first day, with `bucket`.
        public let bucket: String?
        /// One value per `group_by` path; nil: records without the path. Empty for `(other)`.
        public let key: [String?]
        public let count: Int
        /// The rest of its bucket beyond the top N.
        public let isOther: Bool
        /// With `distinct`: the distinct values among the row's records.
        public let distinct: DistinctSketch?

        public init(bucket: String? = nil, key: [String?], count: Int, isOther: Bool = false, distinct: DistinctSketch? = nil) {
            self.bucket = bucket
            self.key = key
            self.count = count
            self.isOther = isOther
            self.distinct = distinct
        }
    }

    public let rows: [Row]
    public let total: Int
    private let bucketTotals: [String: Int]

    public init(query: CountQuery, result: CountResult, top: Int?, order: CountOrder) {
        total = result.recordCount
        var byBucket: [String?: [Row]] = [:]
        if !query.isComposite, !query.groupPaths.isEmpty {
            var all = result.counts.map { Row(key: [$0.key], count: $0.value) }
            if result.missingCount > 0 { all.append(Row(key: [nil], count: result.missingCount)) }
            byBucket[nil] = all
        } else if query.groupPaths.isEmpty && query.bucket == nil {
            let sketch = query.distinct == nil ? nil : result.distinct[""] ?? DistinctSketch()
            byBucket[nil] = [Row(key: [], count: result.recordCount, distinct: sketch)]
        } else {
            for (text, count) in result.counts {
                guard let values = CompositeKey.decode(text) else { continue }
                let bucket = query.bucket == nil ? nil : values[0]
                let key = query.bucket == nil ? values : Array(values.dropFirst())
                let sketch = query.distinct == nil ? nil : result.distinct[text] ?? DistinctSketch()
                byBucket[bucket, default: []].append(Row(bucket: bucket, key: key, count: count, distinct: sketch))
            }
        }
        var totals: [String: Int] = [:]
        var rows: [Row] = []
        for bucket in byBucket.keys.sorted(by: { ($0 ?? "") < ($1 ?? "") }) {
            var all = byBucket[bucket]!.sorted(by: CountRows.largestFirst)
            if let bucket { totals[bucket] = all.reduce(0) { $0 + $1.count } }
            var other: Row?
            if let top, all.count > top {
                let cut = all[top...]
                let sketch = query.distinct == nil ? nil : cut.reduce(into: DistinctSketch()) { $0.merge($1.distinct ?? DistinctSketch()) }
                other = Row(bucket: bucket, key: [], count: cut.reduce(0) { $0 + $1.count }, isOther: true, distinct: sketch)
                all.removeSubrange(top...)
            }
            switch order {
            case .count: break
            case .key: all.sort { CountRows.precedes($0.key, $1.key, by: { $0 < $1 }) }
            case .version: all.sort { CountRows.precedes($0.key, $1.key, by: VersionOrder.precedes) }
            }
            rows += all
            if let other { rows.append(other) }
        }
        self.rows = rows
        bucketTotals = totals
    }

    /// What the rows beyond the top N held together (all buckets); nil when nothing was cut.
    public var other: Int? {
        let cut = rows.filter(\.isOther)
        return cut.isEmpty ? nil : cut.reduce(0) { $0 + $1.count }
    }

    /// Largest first, ties by key, so answers are the same on every node.
    private static func largestFirst(_ a: Row, _ b: Row) -> Bool {
        a.count != b.count ? a.count > b.count : precedes(a.key, b.key, by: { $0 < $1 })
    }

    /// Component by component; records without a path sort after every value.
    private static func precedes(_ a: [String?], _ b: [String?], by less: (String, String) -> Bool) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            guard let x else { return false }
            guard let y else { return true }
            return less(x, y)
        }
        return false
    }

    /// Hundredths of a percent of the total (of its bucket's total, with `bucket`), rounded to nearest.
    public func share(_ row: Row) -> Int {
        share(row.count, of: row.bucket.flatMap { bucketTotals[$0] } ?? total)
    }

    public func share(_ count: Int) -> Int { share(count, of: total) }

    private func share(_ count: Int, of total: Int) -> Int {
        total == 0 ? 0 : (count * 10_000 + total / 2) / total
    }

    /// `rows` and `total` of the answer, keys named by the paths as the client spelled them.
    public func add(to answer: inout JSONObject, paths: [String]) {
        let objects: [JSONObject] = rows.map { row in
            var object = JSONObject()
            if let bucket = row.bucket { object.add("bucket", bucket) }
            if row.isOther {
                object.add("key", CountRows.otherText)
            } else {
                var key = JSONObject()
                for (path, value) in zip(paths, row.key) { key.add(path, value ?? CountFilter.missingText) }
                object.add("key", object: key)
            }
            object.add("count", row.count)
            object.add("percent", hundredths: share(row))
            if let distinct = row.distinct { object.add("distinct", distinct.count) }
            return object
        }
        answer.add("rows", array: objects)
        answer.add("total", total)
        if rows.contains(where: { $0.distinct != nil }) {
            // Exact counts are exact; a HyperLogLog's relative standard error is 0.81 %, stated as 1 %.
            answer.add("distinct_error", hundredths: rows.allSatisfy { $0.distinct?.isExact ?? true } ? 0 : 1)
        }
    }

    static let otherText = "(other)"
}

/// Orders version-like texts the way people read them: runs of digits compare as numbers,
/// everything else as text, so `3.9 < 3.10` and `OpenSSL 1.1.1w < OpenSSL 3.0.11`.
public enum VersionOrder {
    public static func precedes(_ a: String, _ b: String) -> Bool {
        let x = runs(a), y = runs(b)
        for (p, q) in zip(x, y) where p != q {
            switch (p, q) {
            case let (.number(m), .number(n)): return m.count != n.count ? m.count < n.count : m < n
            case let (.text(s), .text(t)): return s < t
            case (.number, .text): return true
            case (.text, .number): return false
            }
        }
        return x.count != y.count ? x.count < y.count : a < b
    }

    private enum Run: Equatable {
        /// Digits without leading zeros, so that comparing length then text compares value.
        case number(String)
        case text(String)
    }

    private static func runs(_ text: String) -> [Run] {
        var runs: [Run] = []
        var current = ""
        var inDigits = false
        func close() {
            guard !current.isEmpty else { return }
            if inDigits {
                let trimmed = current.drop { $0 == "0" }
                runs.append(.number(trimmed.isEmpty ? "0" : String(trimmed)))
            } else {
                runs.append(.text(current))
            }
            current = ""
        }
        for character in text {
            let isDigit = character.isASCII && character.isNumber
            if isDigit != inDigits {
                close()
                inDigits = isDigit
            }
            current.append(character)
        }
        close()
        return runs
    }
}

extension CountResult {
    /// A composite result over one path, keyed as the seed's single-path results are; the
    /// path's value is at `index` of each composite key (1 after a bucket).
    public func singlePathCounts(valueAt index: Int) -> CountResult {
        var seed = CountResult(recordCount: recordCount)
        for (key, count) in counts {
            let values = CompositeKey.decode(key) ?? []
            if values.indices.contains(index), let value = values[index] {
                seed.counts[value, default: 0] += count
            } else {
                seed.missingCount += count
            }
        }
        return seed
    }
}
