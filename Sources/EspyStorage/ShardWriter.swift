import EspyCore

/// What one write request did to the shard.
public struct WriteOutcome: Sendable, Equatable {
    /// Records newly stored.
    public var inserted: Int
    /// Records the shard already held (same content-derived id), e.g. from a retried batch.
    public var duplicates: Int
    /// Per record, in order: newly stored (true) or already held (false).
    public var newlyStored: [Bool]

    public init(inserted: Int = 0, duplicates: Int = 0, newlyStored: [Bool] = []) {
        self.inserted = inserted
        self.duplicates = duplicates
        self.newlyStored = newlyStored
    }
}

/// The shard's single writer: inserts records and keeps the rollups and the dimension value
/// dictionary in step, all in the caller's transaction. Used by one job at a time.
final class ShardWriter: @unchecked Sendable {
    // @unchecked Sendable: the Shard runs at most one write job at a time, so the connection
    // and the dictionary below are never touched by two threads at once.
    let connection: SQLiteConnection
    private let extractor: JSONPathExtractor
    /// The leading slots that are dimensions; the others are distinct paths.
    private let combinationSlots: Int
    private var valueIDs: [[String: UInt32]]
    /// This file's partition digests, as committed; the Shard serves a copy on the loop.
    private(set) var digests: [Int: PartitionDigest] = [:]
    /// Records whose rollups were rebuilt at open (the declared paths changed), or nil.
    private(set) var rebuiltRecords: Int?
    private let distinctFoldRows: Int
    /// Rows in `distinct_pending`, as committed.
    private var pendingDistinctRows = 0

    /// `slots`: the paths of `dims`, the first `combinationSlots` of them dimensions.
    init(connection: SQLiteConnection, slots: [FieldPath], combinationSlots: Int, distinctFoldRows: Int) throws(StorageError) {
        self.connection = connection
        self.extractor = JSONPathExtractor(paths: slots)
        self.combinationSlots = combinationSlots
        self.distinctFoldRows = distinctFoldRows
        self.valueIDs = Array(repeating: [:], count: slots.count)
        let stored = try storedDimensions()
        let storedCombinationSlots = try storedCombinationSlots()
        if stored != slots.map(\.description) || storedCombinationSlots != combinationSlots {
            rebuiltRecords = try rebuildDimensions()
        }
        try loadValueIDs()
        pendingDistinctRows = Int(try connection.scalarInt("SELECT count(*) FROM distinct_pending"))
        digests = try PartitionDigestTable.load(from: connection)
    }

    private func storedDimensions() throws(StorageError) -> [String] {
        let statement = try connection.statement("SELECT path FROM dimensions ORDER BY slot")
        var paths: [String] = []
        while try statement.step() { paths.append(statement.text(0)) }
        return paths
    }

    private func storedCombinationSlots() throws(StorageError) -> Int? {
        let statement = try connection.statement("SELECT value FROM meta WHERE key = 'combination_slots'")
        defer { statement.reset() }
        return try statement.step() ? Int(statement.text(0)) : nil
    }

    private func loadValueIDs() throws(StorageError) {
        valueIDs = Array(repeating: [:], count: extractor.paths.count)
        let statement = try connection.statement("SELECT slot, value, value_id FROM dimension_values")
        while try statement.step() {
            let slot = Int(statement.int(0))
            if slot < valueIDs.count { valueIDs[slot][statement.text(1)] = UInt32(statement.int(2)) }
        }
    }

    /// Stores several write requests in one transaction (group commit); every request gets its
    /// own outcome, and either all of them are committed or none. Also returns the new digests
    /// of the partitions that gained records.
    func insert(_ requests: [[PreparedRecord]]) throws(StorageError) -> (outcomes: [WriteOutcome], digests: [Int: PartitionDigest]) {
        var touched: [Int: PartitionDigest] = [:]
        var pending = pendingDistinctRows
        do {
            let outcomes = try connection.transaction { () throws(StorageError) -> [WriteOutcome] in
                var delta = RollupDelta(combinationSlots: combinationSlots)
                let insertRecord = try connection.statement("""
                    INSERT OR IGNORE INTO records (id, partition, server_time, dims, body) VALUES (?1, ?2, ?3, ?4, ?5)
                    """)
                var outcomes: [WriteOutcome] = []
                for records in requests {
                    var outcome = WriteOutcome()
                    for record in records {
                        let ids = try dimensionValueIDs(of: record.body)
                        let dims = DimensionValues.pack(ids)
                        try insertRecord.bind(1, blob: record.id.bytes).bind(2, record.partition)
                            .bind(3, record.serverTime.microseconds).bind(4, blob: dims)
                            .bind(5, text: record.body).run()
                        let isNew = connection.changes == 1
                        outcome.newlyStored.append(isNew)
                        if isNew {
                            outcome.inserted += 1
                            delta.add(day: record.serverTime.day, valueIDs: ids, dims: dims)
                            touched[record.partition, default: digests[record.partition] ?? PartitionDigest()].add(record.id)
                        } else {
                            outcome.duplicates += 1
                        }
                    }
                    outcomes.append(outcome)
                }
                try delta.write(to: connection, deferringDistinct: true)
                pending += delta.distinctValues.count
                if pending >= distinctFoldRows {
                    try foldPendingDistinct()
                    pending = 0
                }
                try PartitionDigestTable.store(touched, in: connection)
                return outcomes
            }
            digests.merge(touched) { $1 }
            pendingDistinctRows = pending
            return (outcomes, touched)
        } catch {
            // Value ids handed out inside the rolled-back transaction no longer exist.
            try? loadValueIDs()
            throw error
        }
    }

    /// Adds the gathered distinct values to `daily_distinct`, in its key order, and empties
    /// `distinct_pending`. In the caller's transaction.
    private func foldPendingDistinct() throws(StorageError) {
        try connection.execute("""
            INSERT INTO daily_distinct (day, slot, dims, value_id, n)
                SELECT day, slot, dims, value_id, sum(n) FROM distinct_pending WHERE true
                GROUP BY day, slot, dims, value_id ORDER BY day, slot, dims, value_id
                ON CONFLICT (day, slot, dims, value_id) DO UPDATE SET n = n + excluded.n;
            DELETE FROM distinct_pending;
            """)
    }

    /// Deletes every record of `partition` and takes them out of the rollups: the partition
    /// has moved to other replicas that confirmed holding it. Returns how many records went.
    func dropPartition(_ partition: Int) throws(StorageError) -> Int {
        let removed = try connection.transaction { () throws(StorageError) -> Int in
            // Removals are counted off daily_distinct's rows, so every addition must be there.
            try foldPendingDistinct()
            var delta = RollupDelta(combinationSlots: combinationSlots)
            let rows = try connection.statement("SELECT server_time, dims FROM records WHERE partition = ?1")
            rows.bind(1, partition)
            var removed = 0
            while try rows.step() {
                let dims = rows.bytes(1)
                delta.add(day: Timestamp(microseconds: rows.int(0)).day, valueIDs: DimensionValues.unpack(dims), dims: Array(dims), by: -1)
                removed += 1
            }
            try connection.statement("DELETE FROM records WHERE partition = ?1").bind(1, partition).run()
            try delta.write(to: connection)
            try connection.execute("""
                DELETE FROM daily_counts WHERE n = 0; DELETE FROM daily_totals WHERE n = 0; DELETE FROM daily_combinations WHERE n = 0;
                DELETE FROM daily_distinct WHERE n = 0;
                """)
            try PartitionDigestTable.store([partition: PartitionDigest()], in: connection)
            return removed
        }
        digests[partition] = nil
        pendingDistinctRows = 0
        return removed
    }

    private func dimensionValueIDs(of body: [UInt8]) throws(StorageError) -> [UInt32] {
        let keys = body.withUnsafeBufferPointer { extractor.groupingKeys(from: $0) }
        var ids: [UInt32] = []
        ids.reserveCapacity(keys.count)
        for (slot, key) in keys.enumerated() {
            guard let key else {
                ids.append(DimensionValues.missing)
                continue
            }
            if let id = valueIDs[slot][key] {
                ids.append(id)
                continue
            }
            try connection.statement("INSERT INTO dimension_values (slot, value) VALUES (?1, ?2)")
                .bind(1, slot).bind(2, key).run()
            let id = UInt32(connection.lastInsertRowID)
            valueIDs[slot][key] = id
            ids.append(id)
        }
        return ids
    }

    /// The declared dimensions changed (or the shard is new): recompute every record's packed
    /// values and all rollups from the stored bodies, in one transaction.
    private func rebuildDimensions() throws(StorageError) -> Int {
        try connection.transaction { () throws(StorageError) -> Int in
            try connection.execute("""
                DELETE FROM daily_counts; DELETE FROM daily_totals; DELETE FROM daily_combinations; DELETE FROM daily_distinct;
                DELETE FROM distinct_pending; DELETE FROM dimension_values; DELETE FROM dimensions;
                """)
            try connection.statement("INSERT OR REPLACE INTO meta (key, value) VALUES ('combination_slots', ?1)")
                .bind(1, text: Array(String(combinationSlots).utf8)).run()
            valueIDs = Array(repeating: [:], count: extractor.paths.count)
            for (slot, path) in extractor.paths.enumerated() {
                try connection.statement("INSERT INTO dimensions (slot, path) VALUES (?1, ?2)")
                    .bind(1, slot).bind(2, path.description).run()
            }
            var delta = RollupDelta(combinationSlots: combinationSlots)
            var lastSeq: Int64 = 0
            var rebuilt = 0
            while true {
                let page = try connection.statement("SELECT seq, server_time, body FROM records WHERE seq > ?1 ORDER BY seq LIMIT 10000")
                page.bind(1, lastSeq)
                var rows: [(seq: Int64, day: Int64, body: [UInt8])] = []
                while try page.step() {
                    rows.append((page.int(0), Timestamp(microseconds: page.int(1)).day, Array(page.bytes(2))))
                }
                guard let last = rows.last else { break }
                lastSeq = last.seq
                let update = try connection.statement("UPDATE records SET dims = ?1 WHERE seq = ?2")
                for row in rows {
                    let ids = try dimensionValueIDs(of: row.body)
                    let dims = DimensionValues.pack(ids)
                    try update.bind(1, blob: dims).bind(2, row.seq).run()
                    delta.add(day: row.day, valueIDs: ids, dims: dims)
                }
                rebuilt += rows.count
            }
            try delta.write(to: connection)
            return rebuilt
        }
    }
}
