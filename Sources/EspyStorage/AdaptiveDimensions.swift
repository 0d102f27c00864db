import EspyCore

/// Paths that questions asked by reading bodies, each given a rollup of its own once asked:
/// per day, combination of the declared dimensions and value of the path, how many records
/// (rows of `daily_distinct` under the path's slot). A question whose every path but this one
/// is a declared dimension is then answered from those rows. At most `limit` paths; asking a
/// new one when full evicts the one asked least recently. Decides only: the shard does the I/O.
struct AdaptiveDimensions {
    struct Entry: Equatable {
        let path: FieldPath
        /// Its slot in `dimension_values` and `daily_distinct`, after every declared slot.
        let slot: Int
        /// Records up to this seq were there when the path was added: the build counts them
        /// (up to `builtThrough` so far); writes count every later one.
        let buildEnd: Int64
        var builtThrough: Int64
        var lastAskedMilliseconds: UInt64
        /// Questions answered from the rollup since this process started.
        var answers = 0

        var isReady: Bool { builtThrough >= buildEnd }
    }

    enum Decision: Equatable {
        /// Answer from the rollup of `slot`.
        case answer(slot: Int)
        /// Read bodies, and add the path at `slot` (after evicting `evicting`, if any).
        case add(slot: Int, evicting: FieldPath?)
        /// Read bodies: the path's rollup is being built or added.
        case scan
    }

    /// Slots of adaptive paths start here, far above any declared slot.
    static let firstSlot = 1_000

    let limit: Int
    private(set) var entries: [Entry] = []
    /// Paths being added, with the slots they take: asked again meanwhile, they must not be
    /// added twice.
    private var adding: [FieldPath: Int] = [:]

    init(limit: Int, entries: [Entry] = []) {
        self.limit = limit
        self.entries = entries
    }

    /// The one path of `query` that is not a declared dimension, when a rollup of it would
    /// answer the query: no `limit`, every other path a dimension, `distinct` absent, a
    /// dimension or the path itself. `slotPaths`: every path `dims` packs, which is not one.
    static func candidate(of query: CountQuery, dimensions: [FieldPath], slotPaths: [FieldPath]) -> FieldPath? {
        guard query.limit == nil else { return nil }
        let undeclared = Set((query.groupPaths + query.filters.map(\.path)).filter { !dimensions.contains($0) })
        guard undeclared.count == 1, let path = undeclared.first, !slotPaths.contains(path) else { return nil }
        if let distinct = query.distinct, distinct != path, !dimensions.contains(distinct) { return nil }
        return path
    }

    /// `path` was asked at `now`.
    mutating func asked(_ path: FieldPath, now: UInt64) -> Decision {
        guard limit > 0 else { return .scan }
        if let index = entries.firstIndex(where: { $0.path == path }) {
            entries[index].lastAskedMilliseconds = now
            return entries[index].isReady ? .answer(slot: entries[index].slot) : .scan
        }
        guard adding[path] == nil else { return .scan }
        let taken = Set(entries.map(\.slot)).union(adding.values)
        let slot = (AdaptiveDimensions.firstSlot...).first { !taken.contains($0) }!
        adding[path] = slot
        let evicting = entries.count + adding.count > limit ? entries.min { $0.lastAskedMilliseconds < $1.lastAskedMilliseconds }?.path : nil
        return .add(slot: slot, evicting: evicting)
    }

    /// The shard added `entry`, after evicting `evicted`; nil entry: adding failed.
    mutating func added(_ path: FieldPath, entry: Entry?, evicted: FieldPath?) {
        adding[path] = nil
        entries.removeAll { $0.path == evicted }
        if let entry { entries.append(entry) }
    }

    /// The rollup of `slot` answered a question (a range with partial days is read from bodies).
    mutating func answered(slot: Int) {
        guard let index = entries.firstIndex(where: { $0.slot == slot }) else { return }
        entries[index].answers += 1
    }

    mutating func built(slot: Int, through seq: Int64) {
        guard let index = entries.firstIndex(where: { $0.slot == slot }) else { return }
        entries[index].builtThrough = seq
    }

    /// The declared dimensions changed: every rollup went with them.
    mutating func removeAll() { entries = [] }

    func entry(slot: Int) -> Entry? { entries.first { $0.slot == slot } }
}
