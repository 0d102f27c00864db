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
    /// The slots' paths, then the adaptive paths': one pass over a body finds them all.
    private(set) var extractor: JSONPathExtractor
    /// The slots of `dims`; the leading `combinationSlots` are dimensions, the others distinct paths.
    let slotCount: Int
    let combinationSlots: Int
    /// Value ids by position in `extractor.paths`.
    var valueIDs: [[String: UInt32]]
    /// The adaptive paths, in `extractor.paths` order after the slots.
    private(set) var adaptive: [AdaptiveDimensions.Entry] = []
    /// This file's partition digests, as committed; the Shard serves a copy on the loop.
    private(set) var digests: [Int: PartitionDigest] = [:]
    /// Records whose rollups were rebuilt at open (the declared paths changed), or nil.
    private(set) var rebuiltRecords: Int?
    private let distinctFoldRows: Int
    /// Rows in `distinct_pending`.
    var pendingDistinctRows = 0

    /// `slots`: the paths of `dims`, the first `combinationSlots` of them dimensions.
    init(connection: SQLiteConnection, slots: [FieldPath], combinationSlots: Int, distinctFoldRows: Int, adaptiveLimit: Int) throws(StorageError) {
        self.connection = connection
        self.extractor = JSONPathExtractor(paths: slots)
        self.slotCount = slots.count
        self.combinationSlots = combinationSlots
        self.distinctFoldRows = distinctFoldRows
        self.valueIDs = Array(repeating: [:], count: slots.count)
        let stored = try storedDimensions()
        let storedCombinationSlots = try storedCombinationSlots()
        if stored != slots.map(\.description) || storedCombinationSlots != combinationSlots {
            rebuiltRecords = try rebuildDimensions()
        }
        try loadAdaptive()
        try trimAdaptive(to: adaptiveLimit)
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

    func loadValueIDs() throws(StorageError) {
        valueIDs = Array(repeating: [:], count: extractor.paths.count)
        var positions = Dictionary(uniqueKeysWithValues: (0..<slotCount).map { ($0, $0) })
        for (index, entry) in adaptive.enumerated() { positions[entry.slot] = slotCount + index }
        let statement = try connection.statement("SELECT slot, value, value_id FROM dimension_values")
        while try statement.step() {
            if let position = positions[Int(statement.int(0))] { valueIDs[position][statement.text(1)] = UInt32(statement.int(2)) }
        }
    }

    /// The adaptive paths from now on: their values are found in the same pass as the slots'.
    func setAdaptive(_ entries: [AdaptiveDimensions.Entry]) throws(StorageError) {
        adaptive = entries
        extractor = JSONPathExtractor(paths: Array(extractor.paths.prefix(slotCount)) + entries.map(\.path))
        try loadValueIDs()
    }

    func updateAdaptive(slot: Int, _ change: (inout AdaptiveDimensions.Entry) -> Void) {
        if let index = adaptive.firstIndex(where: { $0.slot == slot }) { change(&adaptive[index]) }
    }

    /// The slot `dimension_values` keeps the values of `extractor.paths[position]` under.
    private func slot(at position: Int) -> Int { position < slotCount ? position : adaptive[position - slotCount].slot }

    /// Stores several write requests in one transaction (group commit); every request gets its
    /// own outcome, and either all of them are committed or none. Also returns the new digests
    /// of the partitions that gained records.
    func insert(_ requests: [[PreparedRecord]]) throws(StorageError) -> (outcomes: [WriteOutcome], digests: [Int: PartitionDigest]) {
        var touched: [Int: PartitionDigest] = [:]
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
                        let all = try dimensionValueIDs(of: record.body)
                        let ids = adaptive.isEmpty ? all : Array(all.prefix(slotCount))
                        let dims = DimensionValues.pack(ids)
                        try insertRecord.bind(1, blob: record.id.bytes).bind(2, record.partition)
                            .bind(3, record.serverTime.microseconds).bind(4, blob: dims)
                            .bind(5, text: record.body).run()
                        let isNew = connection.changes == 1
                        outcome.newlyStored.append(isNew)
                        if isNew {
                            outcome.inserted += 1
                            delta.add(day: record.serverTime.day, valueIDs: ids, dims: dims)
                            for (index, entry) in adaptive.enumerated() {
                                delta.add(day: record.serverTime.day, dims: dims, slot: entry.slot, valueID: all[slotCount + index])
                            }
                            touched[record.partition, default: digests[record.partition] ?? PartitionDigest()].add(record.id)
                        } else {
                            outcome.duplicates += 1
                        }
                    }
                    outcomes.append(outcome)
                }
                try write(delta)
                try PartitionDigestTable.store(touched, in: connection)
                return outcomes
            }
            digests.merge(touched) { $1 }
            return (outcomes, touched)
        } catch {
            rolledBack()
            throw error
        }
    }

    /// Adds a write's rollup delta, its distinct values appended to `distinct_pending`, and
    /// folds those once enough have gathered. In the caller's transaction.
    func write(_ delta: RollupDelta) throws(StorageError) {
        try delta.write(to: connection, deferringDistinct: true)
        pendingDistinctRows += delta.distinctValues.count
        if pendingDistinctRows >= distinctFoldRows { try foldPendingDistinct() }
    }

    /// What this writer keeps in memory of the file must forget the rolled-back transaction.
    func rolledBack() {
        // Value ids handed out inside it no longer exist.
        try? loadValueIDs()
        pendingDistinctRows = (try? Int(connection.scalarInt("SELECT count(*) FROM distinct_pending"))) ?? pendingDistinctRows
    }

    /// Adds the gathered distinct values to `daily_distinct`, in its key order, and empties
    /// `distinct_pending`. In the caller's transaction.
    func foldPendingDistinct() throws(StorageError) {
        try connection.execute("""
            INSERT INTO daily_distinct (day, slot, dims, value_id, n)
                SELECT day, slot, dims, value_id, sum(n) FROM distinct_pending WHERE true
                GROUP BY day, slot, dims, value_id ORDER BY day, slot, dims, value_id
                ON CONFLICT (day, slot, dims, value_id) DO UPDATE SET n = n + excluded.n;
            DELETE FROM distinct_pending;
            """)
        pendingDistinctRows = 0
    }

    /// Deletes every record of `partition` and takes them out of the rollups: the partition
    /// has moved to other replicas that confirmed holding it. Returns how many records went.
    func dropPartition(_ partition: Int) throws(StorageError) -> Int {
        do {
            let removed = try connection.transaction { () throws(StorageError) -> Int in
                // Removals are counted off daily_distinct's rows, so every addition must be there.
                try foldPendingDistinct()
                var delta = RollupDelta(combinationSlots: combinationSlots)
                // Adaptive paths are not in `dims`: their values come from the bodies.
                let rows = try connection.statement(adaptive.isEmpty ? "SELECT server_time, dims FROM records WHERE partition = ?1"
                                                    : "SELECT server_time, dims, seq, body FROM records WHERE partition = ?1")
                rows.bind(1, partition)
                var removed = 0
                while try rows.step() {
                    let dims = Array(rows.bytes(1))
                    let day = Timestamp(microseconds: rows.int(0)).day
                    delta.add(day: day, valueIDs: DimensionValues.unpack(rows.bytes(1)), dims: dims, by: -1)
                    if !adaptive.isEmpty { try takeOutOfAdaptive(seq: rows.int(2), body: rows.bytes(3), day: day, dims: dims, from: &delta) }
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
            return removed
        } catch {
            rolledBack()
            throw error
        }
    }

    private func dimensionValueIDs(of body: [UInt8]) throws(StorageError) -> [UInt32] {
        let keys = body.withUnsafeBufferPointer { extractor.groupingKeys(from: $0) }
        var ids: [UInt32] = []
        ids.reserveCapacity(keys.count)
        for (position, key) in keys.enumerated() {
            ids.append(try valueID(of: key, at: position))
        }
        return ids
    }

    /// The id of `key` as a value of `extractor.paths[position]`, made if new; 0 for nil.
    func valueID(of key: String?, at position: Int) throws(StorageError) -> UInt32 {
        guard let key else { return DimensionValues.missing }
        if let id = valueIDs[position][key] { return id }
        try connection.statement("INSERT INTO dimension_values (slot, value) VALUES (?1, ?2)")
            .bind(1, slot(at: position)).bind(2, key).run()
        let id = UInt32(connection.lastInsertRowID)
        valueIDs[position][key] = id
        return id
    }

    /// The declared dimensions changed (or the shard is new): recompute every record's packed
    /// values and all rollups from the stored bodies, in one transaction.
    private func rebuildDimensions() throws(StorageError) -> Int {
        try connection.transaction { () throws(StorageError) -> Int in
            try connection.execute("""
                DELETE FROM daily_counts; DELETE FROM daily_totals; DELETE FROM daily_combinations; DELETE FROM daily_distinct;
                DELETE FROM distinct_pending; DELETE FROM dimension_values; DELETE FROM dimensions; DELETE FROM adaptive_paths;
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
