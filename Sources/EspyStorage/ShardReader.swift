import EspyCore

/// One page of exported records, as NDJSON lines, and where the next page starts (nil: done).
public struct ExportPage: Sendable {
    public let ndjson: [UInt8]
    public let next: ExportCursor?
}

/// Answers queries on one read connection. Used by one job at a time.
final class ShardReader: @unchecked Sendable {
    // @unchecked Sendable: the Shard lends each reader to a single job at a time.
    let connection: SQLiteConnection
    /// The dimensions: the leading slots of `dims`, counted per slot and per combination.
    let dimensions: [FieldPath]
    /// The slots of the declared distinct paths that are not dimensions, after them in `dims`.
    let distinctSlots: [FieldPath: Int]
    private var valueNames: [UInt32: String] = [:]
    private var extractors: [FieldPath: JSONPathExtractor] = [:]

    init(connection: SQLiteConnection, slots: [FieldPath], combinationSlots: Int) {
        self.connection = connection
        dimensions = Array(slots.prefix(combinationSlots))
        distinctSlots = Dictionary(uniqueKeysWithValues: slots.enumerated().dropFirst(combinationSlots).map { ($0.element, $0.offset) })
    }

    func recordCount() throws(StorageError) -> Int {
        Int(try connection.scalarInt("SELECT COALESCE(SUM(n), 0) FROM daily_totals"))
    }

    /// The seqs the records table holds, or nil when it is empty.
    func seqBounds() throws(StorageError) -> Range<Int64>? {
        let statement = try connection.statement("SELECT min(seq), max(seq) FROM records")
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int(0)..<(statement.int(1) + 1)
    }

    /// `slice`: only the records of that run (a count that reads bodies, cut across readers).
    func count(_ query: CountQuery, slice: RecordSlice? = nil) throws(StorageError) -> CountResult {
        if query.isComposite { return try compositeCount(query, partitions: nil, slice: slice) }
        let slot = query.groupBy.flatMap { dimensions.firstIndex(of: $0) }
        let range = (query.since?.microseconds ?? RollupPlan.unboundedStart)..<(query.until?.microseconds ?? RollupPlan.unboundedEnd)
        if let limit = query.limit {
            return try countNewest(limit, in: range, groupBy: query.groupBy, slot: slot)
        }
        if let path = query.groupBy, slot == nil {
            return try scanBodies(range, limit: nil, path: path, slice: slice)
        }
        assert(slice == nil, "a count read from rollups cannot be cut into runs of records")
        let plan = RollupPlan(since: query.since, until: query.until)
        var tally = ValueTally()
        if let days = plan.fullDays {
            if let slot {
                let statement = try connection.statement("""
                    SELECT value_id, SUM(n) FROM daily_counts WHERE slot = ?1 AND day >= ?2 AND day < ?3 GROUP BY value_id
                    """)
                statement.bind(1, slot).bind(2, days.lowerBound).bind(3, days.upperBound)
                while try statement.step() { tally.add(UInt32(statement.int(0)), Int(statement.int(1))) }
            } else {
                let statement = try connection.statement("SELECT COALESCE(SUM(n), 0) FROM daily_totals WHERE day >= ?1 AND day < ?2")
                statement.bind(1, days.lowerBound).bind(2, days.upperBound)
                if try statement.step() { tally.records += Int(statement.int(0)) }
            }
        }
        for edge in plan.edges {
            let statement = try connection.statement("SELECT dims FROM records WHERE server_time >= ?1 AND server_time < ?2")
            statement.bind(1, edge.lowerBound).bind(2, edge.upperBound)
            try tally.addRows(of: statement, slot: slot)
        }
        return try result(of: tally, grouped: slot != nil)
    }

    private func countNewest(_ limit: Int, in range: Range<Int64>, groupBy: FieldPath?, slot: Int?) throws(StorageError) -> CountResult {
        if let groupBy, slot == nil { return try scanBodies(range, limit: limit, path: groupBy) }
        let statement = try connection.statement("""
            SELECT dims FROM records WHERE server_time >= ?1 AND server_time < ?2
            ORDER BY server_time DESC, id DESC LIMIT ?3
            """)
        statement.bind(1, range.lowerBound).bind(2, range.upperBound).bind(3, limit)
        var tally = ValueTally()
        try tally.addRows(of: statement, slot: slot)
        return try result(of: tally, grouped: slot != nil)
    }

    /// The fallback for paths without rollups: read each record and pull the value out of its JSON.
    private func scanBodies(_ range: Range<Int64>, limit: Int?, path: FieldPath, slice: RecordSlice? = nil) throws(StorageError) -> CountResult {
        let extractor = extractor(for: path)
        let statement: SQLiteStatement
        if let limit {
            statement = try connection.statement("""
                SELECT body FROM records WHERE server_time >= ?1 AND server_time < ?2
                ORDER BY server_time DESC, id DESC LIMIT ?3
                """)
            statement.bind(3, limit)
        } else if let slice {
            statement = try connection.uncachedStatement("SELECT body FROM records WHERE server_time >= ?1 AND server_time < ?2 \(slice.clause)")
        } else {
            statement = try connection.statement("SELECT body FROM records WHERE server_time >= ?1 AND server_time < ?2")
        }
        statement.bind(1, range.lowerBound).bind(2, range.upperBound)
        var result = CountResult()
        while try statement.step() {
            let body = statement.bytes(0)
            result.recordCount += 1
            if let key = extractor.groupingKeys(from: body)[0] {
                result.counts[key, default: 0] += 1
            } else {
                result.missingCount += 1
            }
        }
        return result
    }

    private func result(of tally: ValueTally, grouped: Bool) throws(StorageError) -> CountResult {
        var result = CountResult(recordCount: tally.records)
        guard grouped else { return result }
        for (valueID, n) in tally.counts {
            if valueID == DimensionValues.missing {
                result.missingCount += n
            } else {
                result.counts[try valueName(valueID), default: 0] += n
            }
        }
        return result
    }

    func dimensionSlot(of path: FieldPath) -> Int? { dimensions.firstIndex(of: path) }

    /// The single-path extractor for `path`, kept for the next query on the same path.
    func extractor(for path: FieldPath) -> JSONPathExtractor {
        if let cached = extractors[path] { return cached }
        let extractor = JSONPathExtractor(paths: [path])
        if extractors.count < 64 { extractors[path] = extractor }
        return extractor
    }

    func valueName(_ valueID: UInt32) throws(StorageError) -> String {
        if let name = valueNames[valueID] { return name }
        let statement = try connection.statement("SELECT value FROM dimension_values WHERE value_id = ?1")
        statement.bind(1, Int64(valueID))
        guard try statement.step() else {
            throw StorageError(code: 0, message: "dimension value \(valueID) is referenced but not stored")
        }
        let name = statement.text(0)
        valueNames[valueID] = name
        return name
    }

    func exportPage(after cursor: ExportCursor?, since: Timestamp?, until: Timestamp?, partitions: [Int]? = nil,
                    maxBytes: Int) throws(StorageError) -> ExportPage {
        let sql = """
            SELECT id, server_time, body FROM records
            WHERE (server_time, id) > (?1, ?2) AND server_time >= ?3 AND server_time < ?4
            """ + (partitions.map { " AND partition IN (" + $0.map(String.init).joined(separator: ",") + ")" } ?? "")
            + " ORDER BY server_time, id LIMIT 1000"
        let statement = try partitions == nil ? connection.statement(sql) : connection.uncachedStatement(sql)
        statement.bind(1, cursor?.serverTime ?? RollupPlan.unboundedStart).bind(2, blob: cursor?.id ?? [])
            .bind(3, since?.microseconds ?? RollupPlan.unboundedStart).bind(4, until?.microseconds ?? RollupPlan.unboundedEnd)
        var ndjson: [UInt8] = []
        ndjson.reserveCapacity(maxBytes + 4096)
        var last: ExportCursor?
        var rows = 0
        while ndjson.count < maxBytes, try statement.step() {
            let serverTime = statement.int(1)
            PreparedRecord.appendExported(body: statement.bytes(2), serverTime: Timestamp(microseconds: serverTime), to: &ndjson)
            ndjson.append(0x0A)
            last = ExportCursor(serverTime: serverTime, id: Array(statement.bytes(0)))
            rows += 1
        }
        // A short page means the range is exhausted; a full one may have more after it.
        let exhausted = rows < 1000 && ndjson.count < maxBytes
        return ExportPage(ndjson: ndjson, next: exhausted ? nil : last)
    }
}

/// Counts per dimension value id (0: path missing), plus the number of records seen.
private struct ValueTally {
    var counts: [UInt32: Int] = [:]
    var records = 0

    mutating func add(_ valueID: UInt32, _ n: Int) {
        counts[valueID, default: 0] += n
        records += n
    }

    /// Reads a statement whose first column is `dims`; counts records, and values at `slot` if any.
    mutating func addRows(of statement: SQLiteStatement, slot: Int?) throws(StorageError) {
        guard let slot else {
            while try statement.step() { records += 1 }
            return
        }
        while try statement.step() {
            add(DimensionValues.valueID(in: statement.bytes(0), slot: slot), 1)
        }
    }
}
