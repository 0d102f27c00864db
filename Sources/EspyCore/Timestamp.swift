/// A UTC instant in whole microseconds since the Unix epoch: the resolution `server_time` is
/// stored, compared and printed with.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let microsecondsPerSecond: Int64 = 1_000_000
    public static let microsecondsPerDay: Int64 = 86_400 * microsecondsPerSecond

    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    /// Days since 1970-01-01 (UTC); the unit of the per-day rollups.
    public var day: Int64 { floorDivide(microseconds, Timestamp.microsecondsPerDay) }

    public static func startOfDay(_ day: Int64) -> Timestamp { Timestamp(microseconds: day * microsecondsPerDay) }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-29T09:51:50.123456Z`.
    public var description: String {
        let day = self.day
        let inDay = microseconds - day * Timestamp.microsecondsPerDay
        let (year, month, dayOfMonth) = Timestamp.civilDate(fromDays: day)
        let seconds = inDay / Timestamp.microsecondsPerSecond
        let fraction = inDay % Timestamp.microsecondsPerSecond
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfMonth, 2))T\(pad(seconds / 3600, 2)):"
            + "\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(fraction, 6))Z"
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Accepts `YYYY-MM-DD` (midnight UTC) or RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`).
    public init(parsing text: String) throws {
        let bytes = Array(text.utf8)
        var reader = DigitReader(bytes: bytes)
        let fail = ParseError(description: "'\(text)' is not a date (YYYY-MM-DD) or an RFC 3339 time")
        guard let year = reader.digits(4), reader.skip("-"), let month = reader.digits(2), reader.skip("-"),
              let day = reader.digits(2), (1...12).contains(month),
              (1...Timestamp.daysInMonth(year: year, month: month)).contains(day) else { throw fail }
        var micros = Timestamp.days(fromCivilYear: year, month: month, day: day) * Timestamp.microsecondsPerDay
        if reader.atEnd {
            self.init(microseconds: micros)
            return
        }
        guard reader.skip("T") || reader.skip("t") || reader.skip(" "), let hour = reader.digits(2), reader.skip(":"),
              let minute = reader.digits(2), reader.skip(":"), let second = reader.digits(2),
              hour < 24, minute < 60, second < 61 else { throw fail }
        micros += (hour * 3600 + minute * 60 + min(second, 59)) * Timestamp.microsecondsPerSecond
        if reader.skip(".") {
            var scale = Timestamp.microsecondsPerSecond / 10
            var any = false
            while let digit = reader.digit() {
                micros += digit * scale
                scale /= 10
                any = true
            }
            guard any else { throw fail }
        }
        if reader.skip("Z") || reader.skip("z") {
        } else if let sign: Int64 = reader.skip("+") ? 1 : (reader.skip("-") ? -1 : nil) {
            guard let offsetHours = reader.digits(2), reader.skip(":"), let offsetMinutes = reader.digits(2),
                  offsetHours < 24, offsetMinutes < 60 else { throw fail }
            micros -= sign * (offsetHours * 60 + offsetMinutes) * 60 * Timestamp.microsecondsPerSecond
        } else {
            throw fail
        }
        guard reader.atEnd else { throw fail }
        self.init(microseconds: micros)
    }

    /// A `server_time` as the original EspyMetrics server wrote it (`YYYY-MM-DD HH:MM:SS.ffffff`,
    /// UTC without a zone), or RFC 3339.
    public init(parsingImported text: String) throws {
        do { try self.init(parsing: text) } catch {
            guard text.count > 10, let zoneless = try? Timestamp(parsing: text + "Z") else {
                throw ParseError(description: "server_time '\(text)' is neither the original server's YYYY-MM-DD HH:MM:SS.ffffff (UTC) nor RFC 3339")
            }
            self = zoneless
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
    public static func days(fromCivilYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func civilDate(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

private func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

private struct DigitReader {
    let bytes: [UInt8]
    var position = 0

    var atEnd: Bool { position == bytes.count }

    mutating func digit() -> Int64? {
        guard position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 else { return nil }
        defer { position += 1 }
        return Int64(bytes[position] - UInt8(ascii: "0"))
    }

    mutating func digits(_ count: Int) -> Int64? {
        var value: Int64 = 0
        for _ in 0..<count {
            guard let d = digit() else { return nil }
            value = value * 10 + d
        }
        return value
    }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard position < bytes.count, bytes[position] == UInt8(ascii: character) else { return false }
        position += 1
        return true
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Timestamp {
    /// The wall clock. Only shells call this; cores take the time as an argument.
    public static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(microseconds: Int64(time.tv_sec) * microsecondsPerSecond + Int64(time.tv_nsec) / 1000)
    }
}
