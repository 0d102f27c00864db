import EspyCore

/// Composite counts whose every path is a declared dimension. Over the whole shard, whole days
/// come from the combination rollup and only the partial days at the range's edges read
/// records; restricted to some partitions, the records are read too. Either way only their
/// packed `dims` column is read, never a JSON body.
extension ShardReader {
    func combinationMatcher(for query: CountQuery) throws(StorageError) -> CombinationMatcher? {
        try CombinationMatcher(query, dimensions: dimensions, distinctSlots: distinctSlots) { (slot, value) throws(StorageError) in
            try valueID(slot: slot, value)
        }
    }

    func combinationCount(_ query: CountQuery, _ matcher: CombinationMatcher, partitions: [Int]?) throws(StorageError) -> CountResult {
        var tally = CombinationTally()
        if let partitions {
            let statement = try connection.uncachedStatement("""
                SELECT server_time, dims FROM records WHERE server_time >= ?1 AND server_time < ?2 \(ShardReader.partitionClause(partitions))
                """)
            bindRange(of: query, to: statement)
            try tally.addRecords(of: statement, matcher)
        } else {
            let plan = RollupPlan(since: query.since, until: query.until)
            if let days = plan.fullDays {
                let statement = try connection.statement("SELECT day, dims, n FROM daily_combinations WHERE day >= ?1 AND day < ?2")
                statement.bind(1, days.lowerBound).bind(2, days.upperBound)
                let distinctHere = !matcher.distinctIsSeparate
                while try statement.step() {
                    let dims = statement.bytes(1)
                    guard matcher.admits(dims) else { continue }
                    tally.add(matcher.group(of: dims, day: statement.int(0)), Int(statement.int(2)),
                              distinct: distinctHere ? matcher.distinctValueID(of: dims) : nil)
                }
                if let slot = matcher.distinctSlot, matcher.distinctIsSeparate {
                    let values = try connection.statement("""
                        SELECT day, dims, value_id FROM daily_distinct WHERE slot = ?1 AND day >= ?2 AND day < ?3
                        UNION ALL
                        SELECT day, dims, value_id FROM distinct_pending WHERE slot = ?1 AND day >= ?2 AND day < ?3
                        """)
                    values.bind(1, slot).bind(2, days.lowerBound).bind(3, days.upperBound)
                    while try values.step() {
                        let dims = values.bytes(1)
                        guard matcher.admits(dims) else { continue }
                        tally.addDistinct(UInt32(values.int(2)), to: matcher.group(of: dims, day: values.int(0)))
                    }
                }
            }
            for edge in plan.edges {
                let statement = try connection.statement("SELECT server_time, dims FROM records WHERE server_time >= ?1 AND server_time < ?2")
                statement.bind(1, edge.lowerBound).bind(2, edge.upperBound)
                try tally.addRecords(of: statement, matcher)
            }
        }
        tally.flush()
        return try combinationResult(of: tally, matcher, query)
    }

    /// The answer a tally of groups (flushed) gives, with value ids turned into their text.
    func combinationResult(of tally: CombinationTally, _ matcher: CombinationMatcher, _ query: CountQuery) throws(StorageError) -> CountResult {
        var result = CountResult()
        for (group, n) in tally.counts {
            let key = try matcher.key(of: group, for: query) { (id) throws(StorageError) in try valueName(id) }
            result.recordCount += n
            if let key { result.counts[key, default: 0] += n }
            guard let ids = tally.distinct[group] else { continue }
            var sketch = result.distinct[key ?? "", default: DistinctSketch()]
            for id in ids { sketch.insert(try valueName(id)) }
            result.distinct[key ?? ""] = sketch
        }
        return result
    }

    /// The newest `limit` records in range, each marked admitted or not, as `compositeNewest`.
    func combinationNewest(_ query: CountQuery, _ matcher: CombinationMatcher, limit: Int,
                           partitions: [Int]?) throws(StorageError) -> [NewestRecord] {
        let statement = try connection.uncachedStatement("""
            SELECT server_time, id, dims FROM records WHERE server_time >= ?1 AND server_time < ?2
            \(ShardReader.partitionClause(partitions)) ORDER BY server_time DESC, id DESC LIMIT ?3
            """)
        bindRange(of: query, to: statement)
        statement.bind(3, limit)
        var records: [NewestRecord] = []
        while try statement.step() {
            let time = Timestamp(microseconds: statement.int(0))
            let dims = statement.bytes(2)
            let key = try matcher.key(of: matcher.group(of: dims, day: time.day), for: query) { (id) throws(StorageError) in try valueName(id) }
            records.append(NewestRecord(serverTime: time, id: RecordID(bytes: Array(statement.bytes(1))),
                                        groupingKey: key.map { .some($0) } ?? .none, admitted: matcher.admits(dims)))
        }
        return records
    }

    /// The id of `value` at `slot`, nil when no record here has it.
    func valueID(slot: Int, _ value: String) throws(StorageError) -> UInt32? {
        let statement = try connection.statement("SELECT value_id FROM dimension_values WHERE slot = ?1 AND value = ?2")
        defer { statement.reset() }
        statement.bind(1, slot).bind(2, value)
        return try statement.step() ? UInt32(statement.int(0)) : nil
    }
}

/// Counts per group, and the distinct value ids per group when the query asks for them.
struct CombinationTally {
    private(set) var counts: [CombinationMatcher.Group: Int] = [:]
    private(set) var distinct: [CombinationMatcher.Group: Set<UInt32>] = [:]
    /// The rollup comes sorted by day and packed values, so consecutive rows often fall in the
    /// same group; adding up a run before touching the dictionary saves most of its hashing.
    private var run: (group: CombinationMatcher.Group, n: Int)?

    mutating func add(_ group: CombinationMatcher.Group, _ n: Int, distinct value: UInt32?) {
        if let value { addDistinct(value, to: group) }
        if run?.group == group {
            run!.n += n
            return
        }
        flush()
        run = (group, n)
    }

    mutating func addDistinct(_ value: UInt32, to group: CombinationMatcher.Group) {
        if value != DimensionValues.missing { distinct[group, default: []].insert(value) }
    }

    mutating func flush() {
        if let run { counts[run.group, default: 0] += run.n }
        run = nil
    }

    /// Reads a statement whose columns are `server_time, dims`, one record a row.
    mutating func addRecords(of statement: SQLiteStatement, _ matcher: CombinationMatcher) throws(StorageError) {
        while try statement.step() {
            let dims = statement.bytes(1)
            guard matcher.admits(dims) else { continue }
            add(matcher.group(of: dims, day: Timestamp(microseconds: statement.int(0)).day), 1, distinct: matcher.distinctValueID(of: dims))
        }
    }
}
