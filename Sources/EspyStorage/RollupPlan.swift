import EspyCore

/// Splits a `[since, until)` time range into whole UTC days, which the per-day rollups answer,
/// and the partial days at either edge, which need the records themselves.
struct RollupPlan: Equatable {
    /// Whole days inside the range, as day numbers.
    var fullDays: Range<Int64>?
    /// Time ranges, in microseconds, not covered by `fullDays`.
    var edges: [Range<Int64>]

    static let unboundedStart = Int64.min
    static let unboundedEnd = Int64.max

    init(since: Timestamp?, until: Timestamp?) {
        let start = since?.microseconds ?? RollupPlan.unboundedStart
        let end = until?.microseconds ?? RollupPlan.unboundedEnd
        // The rollups hold every record, so an open end is "all days" on that side.
        let firstFullDay = since.map { Timestamp(microseconds: $0.microseconds + Timestamp.microsecondsPerDay - 1).day } ?? Int64.min
        let endFullDay = until.map(\.day) ?? Int64.max
        guard firstFullDay < endFullDay, start < end else {
            fullDays = nil
            edges = start < end ? [start..<end] : []
            return
        }
        fullDays = firstFullDay..<endFullDay
        edges = []
        if since != nil, start < Timestamp.startOfDay(firstFullDay).microseconds {
            edges.append(start..<Timestamp.startOfDay(firstFullDay).microseconds)
        }
        if until != nil, Timestamp.startOfDay(endFullDay).microseconds < end {
            edges.append(Timestamp.startOfDay(endFullDay).microseconds..<end)
        }
    }
}
