import EspyCore

/// Reads restricted to some partitions, for cluster sub-requests that ask this node for only
/// the partitions it answers for. The rollups cover the whole shard, so these read records.
extension ShardReader {
    /// `partition IN (…)` for SQL built per call; partitions are integers, so nothing to escape.
    private static func partitionFilter(_ partitions: [Int]) -> String {
        "partition IN (" + partitions.map(String.init).joined(separator: ",") + ")"
    }

    /// Binds `?1` and `?2` to the query's `server_time` range.
    func bindRange(of query: CountQuery, to statement: SQLiteStatement) {
        statement.bind(1, query.since?.microseconds ?? RollupPlan.unboundedStart)
            .bind(2, query.until?.microseconds ?? RollupPlan.unboundedEnd)
    }

    /// `AND partition IN (…)`, or nothing for all partitions.
    static func partitionClause(_ partitions: [Int]?) -> String {
        partitions.map { "AND " + partitionFilter($0) } ?? ""
    }

    func count(_ query: CountQuery, partitions: [Int], slice: RecordSlice? = nil) throws(StorageError) -> CountResult {
        if query.isComposite { return try compositeCount(query, partitions: partitions, slice: slice) }
        if let limit = query.limit {
            return CountResult(newest: try newest(query, limit: limit, partitions: partitions))
        }
        let slot = query.groupBy.flatMap { dimensionSlot(of: $0) }
        let column = query.groupBy == nil ? "1" : (slot != nil ? "dims" : "body")
        let statement = try connection.uncachedStatement("""
            SELECT \(column) FROM records WHERE \(ShardReader.partitionFilter(partitions))
            AND server_time >= ?1 AND server_time < ?2 \(slice?.clause ?? "")
            """)
        bindRange(of: query, to: statement)
        var result = CountResult()
        while try statement.step() {
            result.recordCount += 1
            guard query.groupBy != nil else { continue }
            if let key = try groupingKey(of: statement, column: 0, slot: slot, path: query.groupBy!) {
                result.counts[key, default: 0] += 1
            } else {
                result.missingCount += 1
            }
        }
        return result
    }

    /// The newest `limit` records in range, newest first, within `partitions` (nil: all).
    func newest(_ query: CountQuery, limit: Int, partitions: [Int]?) throws(StorageError) -> [NewestRecord] {
        if query.isComposite { return try compositeNewest(query, limit: limit, partitions: partitions) }
        let slot = query.groupBy.flatMap { dimensionSlot(of: $0) }
        let column = query.groupBy == nil ? "NULL" : (slot != nil ? "dims" : "body")
        let filter = ShardReader.partitionClause(partitions)
        let statement = try connection.uncachedStatement("""
            SELECT server_time, id, \(column) FROM records WHERE server_time >= ?1 AND server_time < ?2 \(filter)
            ORDER BY server_time DESC, id DESC LIMIT ?3
            """)
        bindRange(of: query, to: statement)
        statement.bind(3, limit)
        var records: [NewestRecord] = []
        while try statement.step() {
            let key: String?? = query.groupBy == nil
                ? .none : .some(try groupingKey(of: statement, column: 2, slot: slot, path: query.groupBy!))
            records.append(NewestRecord(serverTime: Timestamp(microseconds: statement.int(0)),
                                        id: RecordID(bytes: Array(statement.bytes(1))), groupingKey: key))
        }
        return records
    }

    private func groupingKey(of statement: SQLiteStatement, column: Int32, slot: Int?, path: FieldPath) throws(StorageError) -> String? {
        if let slot {
            let valueID = DimensionValues.valueID(in: statement.bytes(column), slot: slot)
            return valueID == DimensionValues.missing ? nil : try valueName(valueID)
        }
        return extractor(for: path).groupingKeys(from: statement.bytes(column))[0]
    }

    /// Which partitions hold records here.
    func partitionsHeld() throws(StorageError) -> Set<Int> {
        let statement = try connection.statement("SELECT DISTINCT partition FROM records")
        var partitions = Set<Int>()
        while try statement.step() { partitions.insert(Int(statement.int(0))) }
        return partitions
    }
}

extension CountResult {
    init(newest records: [NewestRecord]) {
        self.init()
        for record in records where record.admitted {
            recordCount += 1
            switch record.groupingKey {
            case .none: continue
            case .some(nil): missingCount += 1
            case .some(let key?): counts[key, default: 0] += 1
            }
        }
    }
}
