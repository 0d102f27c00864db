/// Packs the value ids of a record's declared dimensions into the `dims` column: one
/// little-endian UInt32 per dimension slot, 0 meaning "the record lacks this path". Four bytes
/// a dimension keep the time index that carries them small enough to scan 100,000 records fast.
enum DimensionValues {
    static let missing: UInt32 = 0

    static func pack(_ ids: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            bytes.append(UInt8(truncatingIfNeeded: id))
            bytes.append(UInt8(truncatingIfNeeded: id >> 8))
            bytes.append(UInt8(truncatingIfNeeded: id >> 16))
            bytes.append(UInt8(truncatingIfNeeded: id >> 24))
        }
        return bytes
    }

    static func unpack(_ packed: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        (0..<(packed.count / 4)).map { valueID(in: packed, slot: $0) }
    }

    static func valueID(in packed: UnsafeBufferPointer<UInt8>, slot: Int) -> UInt32 {
        let offset = slot * 4
        guard offset + 4 <= packed.count else { return missing }
        return UInt32(packed[offset]) | UInt32(packed[offset + 1]) << 8
            | UInt32(packed[offset + 2]) << 16 | UInt32(packed[offset + 3]) << 24
    }
}

/// Additions to the per-day rollups, gathered over a transaction and written once at its end.
/// The first `combinationSlots` slots of `dims` are the dimensions (counted per slot and per
/// combination); the rest are distinct paths, kept per combination in `daily_distinct`.
struct RollupDelta {
    struct Key: Hashable {
        let slot: Int
        let day: Int64
        let valueID: UInt32
    }

    struct Combination: Hashable {
        let day: Int64
        let dims: [UInt8]

        /// `daily_combinations`' key order: day, then the dims blob as SQLite compares blobs.
        func precedes(_ other: Combination) -> Bool {
            day != other.day ? day < other.day : dims.lexicographicallyPrecedes(other.dims)
        }
    }

    struct DistinctValue: Hashable {
        let combination: Combination
        let slot: Int
        let valueID: UInt32

        /// `daily_distinct`' key order: day, slot, dims, value id.
        func precedes(_ other: DistinctValue) -> Bool {
            if combination.day != other.combination.day { return combination.day < other.combination.day }
            if slot != other.slot { return slot < other.slot }
            if combination.dims != other.combination.dims { return combination.dims.lexicographicallyPrecedes(other.combination.dims) }
            return valueID < other.valueID
        }
    }

    let combinationSlots: Int
    var counts: [Key: Int] = [:]
    var totals: [Int64: Int] = [:]
    var combinations: [Combination: Int] = [:]
    var distinctValues: [DistinctValue: Int] = [:]

    init(combinationSlots: Int) { self.combinationSlots = combinationSlots }

    /// `dims` is `valueIDs` packed, as the record stores it; `by: -1` takes a deleted record out.
    mutating func add(day: Int64, valueIDs: [UInt32], dims: [UInt8], by n: Int = 1) {
        totals[day, default: 0] += n
        for (slot, valueID) in valueIDs.prefix(combinationSlots).enumerated() {
            counts[Key(slot: slot, day: day, valueID: valueID), default: 0] += n
        }
        let combination = Combination(day: day, dims: Array(dims.prefix(combinationSlots * 4)))
        combinations[combination, default: 0] += n
        for (slot, valueID) in valueIDs.enumerated().dropFirst(combinationSlots) where valueID != DimensionValues.missing {
            distinctValues[DistinctValue(combination: combination, slot: slot, valueID: valueID), default: 0] += n
        }
    }

    /// A record's value of an adaptive path (kept under `slot`, missing values too: the rows
    /// of the slot count every record); `dims` as the record stores it.
    mutating func add(day: Int64, dims: [UInt8], slot: Int, valueID: UInt32, by n: Int = 1) {
        let combination = Combination(day: day, dims: Array(dims.prefix(combinationSlots * 4)))
        distinctValues[DistinctValue(combination: combination, slot: slot, valueID: valueID), default: 0] += n
    }

    /// Each table's rows go in its primary key's order: a batch's upserts then walk each B-tree
    /// once, page after page, instead of landing on random pages. With `deferringDistinct`, the
    /// distinct values are appended to `distinct_pending` instead (only additions may be).
    func write(to connection: SQLiteConnection, deferringDistinct: Bool = false) throws(StorageError) {
        let addCount = try connection.statement("""
            INSERT INTO daily_counts (slot, day, value_id, n) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (slot, day, value_id) DO UPDATE SET n = n + excluded.n
            """)
        for (key, n) in counts.sorted(by: { ($0.key.slot, $0.key.day, $0.key.valueID) < ($1.key.slot, $1.key.day, $1.key.valueID) }) {
            try addCount.bind(1, key.slot).bind(2, key.day).bind(3, Int64(key.valueID)).bind(4, n).run()
        }
        let addTotal = try connection.statement("""
            INSERT INTO daily_totals (day, n) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET n = n + excluded.n
            """)
        for (day, n) in totals { try addTotal.bind(1, day).bind(2, n).run() }
        let addCombination = try connection.statement("""
            INSERT INTO daily_combinations (day, dims, n) VALUES (?1, ?2, ?3)
            ON CONFLICT (day, dims) DO UPDATE SET n = n + excluded.n
            """)
        for (combination, n) in combinations.sorted(by: { $0.key.precedes($1.key) }) {
            try addCombination.bind(1, combination.day).bind(2, blob: combination.dims).bind(3, n).run()
        }
        if deferringDistinct {
            let append = try connection.statement("INSERT INTO distinct_pending (day, slot, dims, value_id, n) VALUES (?1, ?2, ?3, ?4, ?5)")
            for (value, n) in distinctValues {
                precondition(n > 0, "only additions are deferred: a removal must find its row in daily_distinct")
                try append.bind(1, value.combination.day).bind(2, value.slot).bind(3, blob: value.combination.dims)
                    .bind(4, Int64(value.valueID)).bind(5, n).run()
            }
            return
        }
        let addDistinct = try connection.statement("""
            INSERT INTO daily_distinct (day, slot, dims, value_id, n) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT (day, slot, dims, value_id) DO UPDATE SET n = n + excluded.n
            """)
        for (value, n) in distinctValues.sorted(by: { $0.key.precedes($1.key) }) {
            try addDistinct.bind(1, value.combination.day).bind(2, value.slot).bind(3, blob: value.combination.dims)
                .bind(4, Int64(value.valueID)).bind(5, n).run()
        }
    }
}
