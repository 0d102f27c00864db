/// A contiguous run of the records table by `seq`, which a scan of record bodies reads in table
/// order: reading bodies through the time or partition index costs a table lookup per record
/// (sqlite3 on a 1,000,000-record bench shard: 1.7 s through `records_by_time`, 0.6 s in table
/// order). A scan is cut into one run per reader, so that it uses every core.
struct RecordSlice: Equatable, Sendable {
    let seqs: Range<Int64>

    /// The condition that keeps a statement on `records` within the run.
    var clause: String { "AND seq >= \(seqs.lowerBound) AND seq < \(seqs.upperBound)" }

    /// At most `count` runs that together cover `bounds` exactly, none empty, in order.
    static func split(_ bounds: Range<Int64>, into count: Int) -> [RecordSlice] {
        guard !bounds.isEmpty else { return [] }
        let total = bounds.upperBound - bounds.lowerBound
        let runs = Int64(max(1, min(count, Int(clamping: total))))
        let step = total / runs, longer = total % runs
        var slices: [RecordSlice] = []
        var lower = bounds.lowerBound
        for index in 0..<runs {
            let upper = lower + step + (index < longer ? 1 : 0)
            slices.append(RecordSlice(seqs: lower..<upper))
            lower = upper
        }
        return slices
    }
}
