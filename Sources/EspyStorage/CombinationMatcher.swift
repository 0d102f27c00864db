import EspyCore

/// A composite query over declared dimensions only, restated in value ids: which packed `dims`
/// it admits and which group it counts them under. Comparing ids instead of JSON text is what
/// lets the combination rollup and the records' `dims` column answer it without reading bodies.
struct CombinationMatcher {
    struct Condition {
        let slot: Int
        /// Ids of the filter's values that exist in this shard (0 for `(missing)`); a value
        /// no record here has is absent, which admits or excludes nothing, as with text. An
        /// array: a filter names a few values, and hashing each row's id cost more than the
        /// search (perf, every row of the rollup is tested).
        let valueIDs: [UInt32]
        let excludes: Bool
    }

    /// The row a record counts under: its bucket's first day (0 without a bucket) and the ids
    /// at the grouped slots, up to `CountQuery.maxGroupPaths` of them, packed so that building
    /// a key allocates nothing.
    struct Group: Hashable {
        var firstDay: Int64 = 0
        var low: UInt64 = 0
        var high: UInt64 = 0

        func valueID(_ index: Int) -> UInt32 {
            let word = index < 2 ? low : high
            return UInt32(truncatingIfNeeded: word >> (32 * UInt64(index % 2)))
        }

        mutating func set(_ index: Int, _ id: UInt32) {
            let bits = UInt64(id) << (32 * UInt64(index % 2))
            if index < 2 { low |= bits } else { high |= bits }
        }
    }

    let groupSlots: [Int]
    let conditions: [Condition]
    let distinctSlot: Int?
    /// The distinct path is a declared distinct path, not a dimension: the combination rollup
    /// does not carry its values, `daily_distinct` does.
    let distinctIsSeparate: Bool
    let bucket: TimeBucket?

    /// Nil when a path the query groups or filters by is not a declared dimension, or its
    /// distinct path is neither a dimension nor a declared distinct path (`distinctSlots`).
    init?(_ query: CountQuery, dimensions: [FieldPath], distinctSlots: [FieldPath: Int],
          valueID: (Int, String) throws(StorageError) -> UInt32?) throws(StorageError) {
        guard query.groupPaths.count <= CountQuery.maxGroupPaths,
              let groupSlots = CombinationMatcher.slots(of: query.groupPaths, in: dimensions),
              let filterSlots = CombinationMatcher.slots(of: query.filters.map(\.path), in: dimensions) else { return nil }
        var distinctSlot: Int?
        if let distinct = query.distinct {
            guard let slot = dimensions.firstIndex(of: distinct) ?? distinctSlots[distinct] else { return nil }
            distinctSlot = slot
        }
        distinctIsSeparate = (distinctSlot ?? 0) >= dimensions.count
        var conditions: [Condition] = []
        for (filter, slot) in zip(query.filters, filterSlots) {
            var ids: [UInt32] = []
            for value in filter.values {
                guard let value else {
                    ids.append(DimensionValues.missing)
                    continue
                }
                if let id = try valueID(slot, value) { ids.append(id) }
            }
            conditions.append(Condition(slot: slot, valueIDs: ids, excludes: filter.excludes))
        }
        self.groupSlots = groupSlots
        self.conditions = conditions
        self.distinctSlot = distinctSlot
        self.bucket = query.bucket
    }

    private static func slots(of paths: [FieldPath], in dimensions: [FieldPath]) -> [Int]? {
        var slots: [Int] = []
        for path in paths {
            guard let slot = dimensions.firstIndex(of: path) else { return nil }
            slots.append(slot)
        }
        return slots
    }

    func admits(_ dims: UnsafeBufferPointer<UInt8>) -> Bool {
        for condition in conditions
        where condition.valueIDs.contains(DimensionValues.valueID(in: dims, slot: condition.slot)) == condition.excludes {
            return false
        }
        return true
    }

    func group(of dims: UnsafeBufferPointer<UInt8>, day: Int64) -> Group {
        var group = Group()
        if let bucket { group.firstDay = bucket.firstDay(of: day) }
        for (index, slot) in groupSlots.enumerated() { group.set(index, DimensionValues.valueID(in: dims, slot: slot)) }
        return group
    }

    func distinctValueID(of dims: UnsafeBufferPointer<UInt8>) -> UInt32? {
        distinctSlot.map { DimensionValues.valueID(in: dims, slot: $0) }
    }

    /// The `CountResult` key of `group`, with value ids turned into their text by `name`.
    func key(of group: Group, for query: CountQuery, name: (UInt32) throws(StorageError) -> String) throws(StorageError) -> String? {
        var values: [String?] = []
        values.reserveCapacity(groupSlots.count)
        for index in groupSlots.indices {
            let id = group.valueID(index)
            values.append(id == DimensionValues.missing ? nil : try name(id))
        }
        let label = bucket.map { $0.label(of: Timestamp.startOfDay(group.firstDay)) }
        return query.compositeKey(values, bucketLabel: label)
    }
}
