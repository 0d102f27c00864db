import EspyCore

/// How the rows of a count answer are ordered: by count (largest first), by key, or by key read
/// as a version (`2.7 < 3.9 < 3.10`, `OpenSSL 1.1.1w < OpenSSL 3.0.11`).
public enum CountOrder: String, Sendable, CaseIterable {
    case count, key, version
}

/// The rows of a count answer (`rows`): one per key, with its share of the total, ordered and
/// cut to the `top` N plus an `(other)` row holding the rest, so shares still add up to 100.
public struct CountRows {
    public struct Row: Equatable {
        /// One value per `group_by` path; nil: records without the path.
        public let key: [String?]
        public let count: Int

        public init(key: [String?], count: Int) {
            self.key = key
            self.count = count
        }
    }

    public let rows: [Row]
    /// What the rows beyond the top N held together; nil when nothing was cut.
    public let other: Int?
    public let total: Int

    public init(query: CountQuery, result: CountResult, top: Int?, order: CountOrder) {
        total = result.recordCount
        var all: [Row]
        if query.groupPaths.isEmpty {
            all = [Row(key: [], count: result.recordCount)]
        } else if query.isComposite {
            all = result.counts.compactMap { key, count in CompositeKey.decode(key).map { Row(key: $0, count: count) } }
        } else {
            all = result.counts.map { Row(key: [$0.key], count: $0.value) }
            if result.missingCount > 0 { all.append(Row(key: [nil], count: result.missingCount)) }
        }
        all.sort(by: CountRows.largestFirst)
        if let top, all.count > top {
            other = all[top...].reduce(0) { $0 + $1.count }
            all.removeSubrange(top...)
        } else {
            other = nil
        }
        switch order {
        case .count: rows = all
        case .key: rows = all.sorted { CountRows.precedes($0.key, $1.key, by: { $0 < $1 }) }
        case .version: rows = all.sorted { CountRows.precedes($0.key, $1.key, by: VersionOrder.precedes) }
        }
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

    /// Hundredths of a percent of the total, rounded to nearest.
    public func share(_ count: Int) -> Int {
        total == 0 ? 0 : (count * 10_000 + total / 2) / total
    }

    /// `rows` and `total` of the answer, keys named by the paths as the client spelled them.
    public func add(to answer: inout JSONObject, paths: [String]) {
        var objects: [JSONObject] = rows.map { row in
            var key = JSONObject()
            for (path, value) in zip(paths, row.key) { key.add(path, value ?? CountFilter.missingText) }
            var object = JSONObject()
            object.add("key", object: key)
            object.add("count", row.count)
            object.add("percent", hundredths: share(row.count))
            return object
        }
        if let other {
            var object = JSONObject()
            object.add("key", CountRows.otherText)
            object.add("count", other)
            object.add("percent", hundredths: share(other))
            objects.append(object)
        }
        answer.add("rows", array: objects)
        answer.add("total", total)
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
    /// A composite result over one path, keyed as the seed's single-path results are.
    public var singlePathCounts: CountResult {
        var seed = CountResult(recordCount: recordCount)
        for (key, count) in counts {
            switch CompositeKey.decode(key)?.first {
            case .some(.some(let value)): seed.counts[value, default: 0] += count
            default: seed.missingCount += count
            }
        }
        return seed
    }
}
