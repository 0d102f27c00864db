import EspyCore

/// The writer's side of adaptive dimensions (`AdaptiveDimensions`): adding a path (evicting
/// another), building its rollup from the records already stored, a chunk per job, and taking
/// dropped records out of it. Writes count the path's value of each record they store.
extension ShardWriter {
    func loadAdaptive() throws(StorageError) {
        let statement = try connection.statement("SELECT slot, path, build_end, built_through, last_asked FROM adaptive_paths ORDER BY slot")
        var entries: [AdaptiveDimensions.Entry] = []
        while try statement.step() {
            // A path this build cannot parse any more is dropped with its rows at the next add.
            guard let path = try? FieldPath(parsing: statement.text(1)) else { continue }
            entries.append(AdaptiveDimensions.Entry(path: path, slot: Int(statement.int(0)), buildEnd: statement.int(2),
                                                    builtThrough: statement.int(3), lastAskedMilliseconds: UInt64(statement.int(4))))
        }
        try setAdaptive(entries)
    }

    /// Adds `path` under `slot`, after removing `evicting` and its rows, in one transaction.
    /// The records stored so far are counted by `buildAdaptive`, the later ones by writes.
    func addAdaptive(_ path: FieldPath, slot: Int, evicting: FieldPath?, now: UInt64) throws(StorageError) -> AdaptiveDimensions.Entry {
        do {
            return try connection.transaction { () throws(StorageError) -> AdaptiveDimensions.Entry in
                var entries = adaptive
                if let evicted = entries.first(where: { $0.path == evicting }) {
                    try removeRows(ofSlot: evicted.slot)
                    entries.removeAll { $0.slot == evicted.slot }
                }
                try removeRows(ofSlot: slot)  // left by a path whose text no longer parses
                let buildEnd = try connection.scalarInt("SELECT coalesce(max(seq), 0) FROM records")
                try connection.statement("""
                    INSERT INTO adaptive_paths (slot, path, build_end, built_through, last_asked) VALUES (?1, ?2, ?3, 0, ?4)
                    """).bind(1, slot).bind(2, path.description).bind(3, buildEnd).bind(4, Int64(now)).run()
                let entry = AdaptiveDimensions.Entry(path: path, slot: slot, buildEnd: buildEnd, builtThrough: 0, lastAskedMilliseconds: now)
                try setAdaptive(entries + [entry])
                return entry
            }
        } catch {
            try? loadAdaptive()
            rolledBack()
            throw error
        }
    }

    /// Fewer adaptive paths allowed than kept: the least recently asked go, with their rows,
    /// so that writes stop counting them.
    func trimAdaptive(to limit: Int) throws(StorageError) {
        guard adaptive.count > limit else { return }
        let leaving = adaptive.sorted { $0.lastAskedMilliseconds > $1.lastAskedMilliseconds }.dropFirst(max(0, limit))
        try connection.transaction { () throws(StorageError) in
            for entry in leaving { try removeRows(ofSlot: entry.slot) }
        }
        try loadAdaptive()
    }

    /// Counts the next `chunk` records the build of `slot` has not counted yet, in one
    /// transaction; returns the seq it has counted through (its `buildEnd` once done).
    func buildAdaptive(slot: Int, chunk: Int = 20_000) throws(StorageError) -> Int64 {
        guard let index = adaptive.firstIndex(where: { $0.slot == slot }) else {
            throw StorageError(code: 0, message: "no adaptive path has slot \(slot)")
        }
        let entry = adaptive[index]
        guard !entry.isReady else { return entry.builtThrough }
        let position = slotCount + index
        let extractor = JSONPathExtractor(paths: [entry.path])
        do {
            let through = try connection.transaction { () throws(StorageError) -> Int64 in
                var delta = RollupDelta(combinationSlots: combinationSlots)
                let rows = try connection.statement("""
                    SELECT seq, server_time, dims, body FROM records WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3
                    """)
                rows.bind(1, entry.builtThrough).bind(2, entry.buildEnd).bind(3, chunk)
                var through = entry.buildEnd
                var counted = 0
                while try rows.step() {
                    let key = extractor.groupingKeys(from: rows.bytes(3))[0]
                    delta.add(day: Timestamp(microseconds: rows.int(1)).day, dims: Array(rows.bytes(2)), slot: slot,
                              valueID: try valueID(of: key, at: position))
                    counted += 1
                    if counted == chunk { through = rows.int(0) }
                }
                try write(delta)
                try connection.statement("UPDATE adaptive_paths SET built_through = ?1 WHERE slot = ?2").bind(1, through).bind(2, slot).run()
                return through
            }
            updateAdaptive(slot: slot) { $0.builtThrough = through }
            return through
        } catch {
            rolledBack()
            throw error
        }
    }

    /// A dropped record leaves the rollup of every adaptive path that counted it.
    func takeOutOfAdaptive(seq: Int64, body: UnsafeBufferPointer<UInt8>, day: Int64, dims: [UInt8],
                           from delta: inout RollupDelta) throws(StorageError) {
        let keys = extractor.groupingKeys(from: body)
        for (index, entry) in adaptive.enumerated() where seq > entry.buildEnd || seq <= entry.builtThrough {
            delta.add(day: day, dims: dims, slot: entry.slot, valueID: try valueID(of: keys[slotCount + index], at: slotCount + index), by: -1)
        }
    }

    private func removeRows(ofSlot slot: Int) throws(StorageError) {
        for table in ["daily_distinct", "distinct_pending", "dimension_values", "adaptive_paths"] {
            try connection.statement("DELETE FROM \(table) WHERE slot = ?1").bind(1, slot).run()
        }
        pendingDistinctRows = Int(try connection.scalarInt("SELECT count(*) FROM distinct_pending"))
    }
}
