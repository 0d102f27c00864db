/// `bucket=day|week|month`: the span of `server_time` (UTC) a count row covers, named by its
/// first day (`2026-11-30`). Weeks start on Monday, as ISO 8601 weeks do.
public enum TimeBucket: String, Hashable, Sendable, CaseIterable {
    case day, week, month

    /// The first day, counted from 1970-01-01, of the bucket holding `day`.
    public func firstDay(of day: Int64) -> Int64 {
        switch self {
        case .day:
            return day
        case .week:
            // 1970-01-01 was a Thursday: three days after a Monday.
            let sinceMonday = ((day + 3) % 7 + 7) % 7
            return day - sinceMonday
        case .month:
            let (year, month, _) = Timestamp.civilDate(fromDays: day)
            return Timestamp.days(fromCivilYear: year, month: month, day: 1)
        }
    }

    /// `YYYY-MM-DD` of the bucket holding `time`.
    public func label(of time: Timestamp) -> String {
        let (year, month, day) = Timestamp.civilDate(fromDays: firstDay(of: time.day))
        func padded(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }
}

/// Labels for the records of one scan, which come in runs of the same day: formatted once per day.
public struct TimeBucketLabeller {
    public let bucket: TimeBucket
    private var lastDay: Int64 = .min
    private var lastLabel = ""

    public init(_ bucket: TimeBucket) { self.bucket = bucket }

    public mutating func label(of time: Timestamp) -> String {
        let day = time.day
        if day != lastDay {
            lastDay = day
            lastLabel = bucket.label(of: time)
        }
        return lastLabel
    }
}
