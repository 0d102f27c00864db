import EspyCore

/// Composite counts (several `group_by` paths, or filters): one pass over the records in range,
/// reading every path the query needs from each body. Queries on declared dimensions only are
/// answered from value ids instead (`combinationCount`), with the same semantics.
extension ShardReader {
    /// `slice`: only the records of that run (a body scan cut across readers).
    func compositeCount(_ query: CountQuery, partitions: [Int]?, slice: RecordSlice? = nil) throws(StorageError) -> CountResult {
        if let limit = query.limit {
            return CountResult(newest: try compositeNewest(query, limit: limit, partitions: partitions))
        }
        if let matcher = try combinationMatcher(for: query) {
            assert(slice == nil, "a count read from rollups cannot be cut into runs of records")
            return try combinationCount(query, matcher, partitions: partitions)
        }
        let statement = try connection.uncachedStatement("""
            SELECT server_time, body FROM records WHERE server_time >= ?1 AND server_time < ?2
            \(ShardReader.partitionClause(partitions)) \(slice?.clause ?? "")
            """)
        bindRange(of: query, to: statement)
        let extractor = JSONPathExtractor(paths: query.compositePaths)
        var labeller = query.bucket.map(TimeBucketLabeller.init)
        var result = CountResult()
        while try statement.step() {
            let values = extractor.groupingKeys(from: statement.bytes(1))
            guard query.admits(values) else { continue }
            result.recordCount += 1
            let label = labeller?.label(of: Timestamp(microseconds: statement.int(0)))
            let key = query.compositeKey(values, bucketLabel: label)
            if let key { result.counts[key, default: 0] += 1 }
            if query.distinct != nil, let value = values[values.count - 1] {
                result.distinct[key ?? "", default: DistinctSketch()].insert(value)
            }
        }
        return result
    }

    /// The newest `limit` records in range, filtered or not: a record the filters exclude still
    /// takes its place among the newest (`limit` means the N most recent records, then the
    /// question), and is sent marked so the coordinator does the same across nodes.
    func compositeNewest(_ query: CountQuery, limit: Int, partitions: [Int]?) throws(StorageError) -> [NewestRecord] {
        if let matcher = try combinationMatcher(for: query) {
            return try combinationNewest(query, matcher, limit: limit, partitions: partitions)
        }
        let statement = try connection.uncachedStatement("""
            SELECT server_time, id, body FROM records WHERE server_time >= ?1 AND server_time < ?2
            \(ShardReader.partitionClause(partitions)) ORDER BY server_time DESC, id DESC LIMIT ?3
            """)
        bindRange(of: query, to: statement)
        statement.bind(3, limit)
        let extractor = JSONPathExtractor(paths: query.compositePaths)
        var labeller = query.bucket.map(TimeBucketLabeller.init)
        var records: [NewestRecord] = []
        while try statement.step() {
            let values = extractor.groupingKeys(from: statement.bytes(2))
            let time = Timestamp(microseconds: statement.int(0))
            let key = query.compositeKey(values, bucketLabel: labeller?.label(of: time))
            records.append(NewestRecord(serverTime: time, id: RecordID(bytes: Array(statement.bytes(1))),
                                        groupingKey: key.map { .some($0) } ?? .none, admitted: query.admits(values)))
        }
        return records
    }
}
