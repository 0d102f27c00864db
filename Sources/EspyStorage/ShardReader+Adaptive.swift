import EspyCore

/// Counts answered from an adaptive path's rollup: its rows are read as if the path were one
/// more dimension, its value id after the declared ones in `dims`, so the combination matcher
/// and tally work on them unchanged.
extension ShardReader {
    /// Nil when the range has partial days at its edges, which only the bodies can answer, or
    /// when the path lost its slot (evicted since the loop chose it). One read transaction, so
    /// that the slot checked is the slot read.
    func adaptiveCount(_ query: CountQuery, path: FieldPath, slot: Int) throws(StorageError) -> CountResult? {
        let plan = RollupPlan(since: query.since, until: query.until)
        guard plan.edges.isEmpty else { return nil }
        return try connection.transaction(immediate: false) { () throws(StorageError) -> CountResult? in
            let owner = try connection.statement("SELECT path FROM adaptive_paths WHERE slot = ?1")
            defer { owner.reset() }
            owner.bind(1, slot)
            guard try owner.step(), owner.text(0) == path.description else { return nil }
            return try adaptiveCount(query, path: path, slot: slot, plan: plan)
        }
    }

    private func adaptiveCount(_ query: CountQuery, path: FieldPath, slot: Int, plan: RollupPlan) throws(StorageError) -> CountResult? {
        let pathSlot = dimensions.count
        guard let matcher = try CombinationMatcher(query, dimensions: dimensions + [path], distinctSlots: [:], valueID: {
            (matched, value) throws(StorageError) in try valueID(slot: matched == pathSlot ? slot : matched, value)
        }) else { return nil }
        var tally = CombinationTally()
        if let days = plan.fullDays {
            let rows = try connection.statement("""
                SELECT day, dims, value_id, n FROM daily_distinct WHERE slot = ?1 AND day >= ?2 AND day < ?3
                UNION ALL
                SELECT day, dims, value_id, n FROM distinct_pending WHERE slot = ?1 AND day >= ?2 AND day < ?3
                """)
            rows.bind(1, slot).bind(2, days.lowerBound).bind(3, days.upperBound)
            var packed = [UInt8](repeating: 0, count: (pathSlot + 1) * 4)
            while try rows.step() {
                let combination = rows.bytes(1)
                for index in 0..<(pathSlot * 4) { packed[index] = index < combination.count ? combination[index] : 0 }
                let valueID = UInt32(truncatingIfNeeded: rows.int(2))
                for byte in 0..<4 { packed[pathSlot * 4 + byte] = UInt8(truncatingIfNeeded: valueID >> (8 * UInt32(byte))) }
                try packed.withUnsafeBufferPointer { (dims) throws(StorageError) in
                    guard matcher.admits(dims) else { return }
                    tally.add(matcher.group(of: dims, day: rows.int(0)), Int(rows.int(3)), distinct: matcher.distinctValueID(of: dims))
                }
            }
        }
        tally.flush()
        guard query.isComposite else { return try seedResult(of: tally) }
        return try combinationResult(of: tally, matcher, query)
    }

    /// One `group_by` and nothing else: the seed's answer, keyed by the values themselves.
    private func seedResult(of tally: CombinationTally) throws(StorageError) -> CountResult {
        var result = CountResult()
        for (group, n) in tally.counts {
            result.recordCount += n
            let valueID = group.valueID(0)
            if valueID == DimensionValues.missing {
                result.missingCount += n
            } else {
                result.counts[try valueName(valueID), default: 0] += n
            }
        }
        return result
    }
}
