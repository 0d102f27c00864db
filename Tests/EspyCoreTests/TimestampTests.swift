import EspyCore
import EspyTestRandom
import XCTest

final class TimestampTests: XCTestCase {
    private let second = Timestamp.microsecondsPerSecond
    private let day = Timestamp.microsecondsPerDay

    private func micros(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int64 {
        try Timestamp(parsing: text).microseconds
    }

    // MARK: Parsing

    func testParsesRFC3339InUTC() throws {
        XCTAssertEqual(try micros("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(try micros("1970-01-02T00:00:01Z"), day + second)
        XCTAssertEqual(try micros("2026-11-29T09:51:50Z"), 1_795_945_910 * second)
        XCTAssertEqual(try micros("2026-11-29t09:51:50z"), 1_795_945_910 * second)
        XCTAssertEqual(try micros("2026-11-29 09:51:50Z"), 1_795_945_910 * second)
    }

    func testParsesPositiveAndNegativeOffsets() throws {
        let utc = try micros("2026-11-29T09:51:50Z")
        XCTAssertEqual(try micros("2026-11-29T11:51:50+02:00"), utc)
        XCTAssertEqual(try micros("2026-11-29T04:21:50-05:30"), utc)
        XCTAssertEqual(try micros("2026-11-29T09:51:50+00:00"), utc)
        XCTAssertEqual(try micros("2026-11-30T00:51:50+15:00"), utc)
    }

    func testOffsetCanMoveTheInstantToAnotherDay() throws {
        let time = try Timestamp(parsing: "2026-01-01T01:00:00+02:00")
        XCTAssertEqual(time.description, "2025-12-31T23:00:00.000000Z")
    }

    func testParsesFractionsToMicroseconds() throws {
        let base = try micros("2026-11-29T09:51:50Z")
        XCTAssertEqual(try micros("2026-11-29T09:51:50.5Z"), base + 500_000)
        XCTAssertEqual(try micros("2026-11-29T09:51:50.123Z"), base + 123_000)
        XCTAssertEqual(try micros("2026-11-29T09:51:50.123456Z"), base + 123_456)
        XCTAssertEqual(try micros("2026-11-29T09:51:50.000001Z"), base + 1)
        // Beyond microseconds the digits are dropped, not rounded.
        XCTAssertEqual(try micros("2026-11-29T09:51:50.1234569Z"), base + 123_456)
        XCTAssertEqual(try micros("2026-11-29T11:51:50.25+02:00"), base + 250_000)
    }

    func testParsesPlainDateAsMidnightUTC() throws {
        XCTAssertEqual(try micros("1970-01-01"), 0)
        XCTAssertEqual(try micros("2026-11-29"), 20_786 * day)
        XCTAssertEqual(try micros("2000-03-01"), 11_017 * day)
    }

    func testLeapSecondIsClampedToTheLastSecondOfTheMinute() throws {
        XCTAssertEqual(try micros("2016-12-31T23:59:60Z"), try micros("2016-12-31T23:59:59Z"))
    }

    func testRejectsImpossibleDates() {
        for text in ["2026-02-30", "2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-01-00", "2026-01-32",
                     "1900-02-29", "2100-02-29"] {
            XCTAssertThrowsError(try Timestamp(parsing: text), text)
        }
    }

    func testRejectsImpossibleTimesAndBadOffsets() {
        for text in ["2026-01-01T24:00:00Z", "2026-01-01T12:60:00Z", "2026-01-01T12:00:61Z",
                     "2026-01-01T12:00:00+24:00", "2026-01-01T12:00:00+02:60", "2026-01-01T12:00:00+0200",
                     "2026-01-01T12:00:00+02"] {
            XCTAssertThrowsError(try Timestamp(parsing: text), text)
        }
    }

    func testRejectsGarbage() {
        for text in ["", "garbage", "2026", "2026-1-01", "26-01-01", "2026/01/01", "2026-01-01T", "2026-01-01T12:00",
                     "2026-01-01T12:00:00", "2026-01-01T12:00:00.Z", "2026-01-01T12:00:00Zjunk", "2026-01-01 ",
                     "2026-01-01x", " 2026-01-01", "１９７０-01-01", "1784-01-01T00:00:00ZZ"] {
            XCTAssertThrowsError(try Timestamp(parsing: text), text)
        }
    }

    func testParseErrorQuotesTheInput() {
        XCTAssertThrowsError(try Timestamp(parsing: "yesterday")) { error in
            XCTAssertTrue("\(error)".contains("'yesterday'"), "\(error)")
        }
    }

    // MARK: Printing

    func testDescriptionIsRFC3339WithMicroseconds() {
        XCTAssertEqual(Timestamp(microseconds: 0).description, "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(Timestamp(microseconds: 1_795_945_910 * second + 123_456).description, "2026-11-29T09:51:50.123456Z")
        XCTAssertEqual(Timestamp(microseconds: 7).description, "1970-01-01T00:00:00.000007Z")
    }

    func testDescriptionOfPreEpochInstants() {
        XCTAssertEqual(Timestamp(microseconds: -1).description, "1969-12-31T23:59:59.999999Z")
        XCTAssertEqual(Timestamp(microseconds: -day).description, "1969-12-31T00:00:00.000000Z")
        XCTAssertEqual(Timestamp(microseconds: -day - 1).description, "1969-12-30T23:59:59.999999Z")
    }

    func testDescriptionRoundTripsThroughParsing() throws {
        var generator = SplitMix64(seed: 42)
        let samples: [Int64] = [0, -1, 1, day - 1, -day, 951_782_400 * second, -2_208_988_800 * second,
                                253_402_300_799 * second + 999_999]
        let random = (0..<500).map { _ in Int64(bitPattern: generator.next() % UInt64(400 * 365 * day)) - 150 * 365 * day }
        for value in samples + random {
            let text = Timestamp(microseconds: value).description
            XCTAssertEqual(try Timestamp(parsing: text).microseconds, value, text)
        }
    }

    // MARK: Days

    func testDayNumbers() throws {
        XCTAssertEqual(Timestamp(microseconds: 0).day, 0)
        XCTAssertEqual(Timestamp(microseconds: day - 1).day, 0)
        XCTAssertEqual(Timestamp(microseconds: day).day, 1)
        XCTAssertEqual(try Timestamp(parsing: "2026-11-29T23:59:59.999999Z").day, 20_786)
    }

    func testDayNumbersOfPreEpochTimesRoundDown() {
        XCTAssertEqual(Timestamp(microseconds: -1).day, -1)
        XCTAssertEqual(Timestamp(microseconds: -day).day, -1)
        XCTAssertEqual(Timestamp(microseconds: -day - 1).day, -2)
        XCTAssertEqual(Timestamp(microseconds: -10 * day + 5).day, -10)
    }

    func testStartOfDayInvertsDay() {
        for dayNumber: Int64 in [-400, -1, 0, 1, 20_786] {
            let start = Timestamp.startOfDay(dayNumber)
            XCTAssertEqual(start.day, dayNumber)
            XCTAssertEqual(Timestamp(microseconds: start.microseconds - 1).day, dayNumber - 1)
        }
    }

    func testCivilDateOfDayNumbers() {
        XCTAssertTrue(Timestamp.civilDate(fromDays: 0) == (1970, 1, 1))
        XCTAssertTrue(Timestamp.civilDate(fromDays: -1) == (1969, 12, 31))
        XCTAssertTrue(Timestamp.civilDate(fromDays: 11_016) == (2000, 2, 29))
        XCTAssertTrue(Timestamp.civilDate(fromDays: -25_508) == (1900, 3, 1))
    }

    func testLeapYears() throws {
        XCTAssertEqual(try Timestamp(parsing: "2024-02-29").description, "2024-02-29T00:00:00.000000Z")
        XCTAssertEqual(try Timestamp(parsing: "2000-02-29").description, "2000-02-29T00:00:00.000000Z")
        XCTAssertEqual(try micros("2024-03-01") - micros("2024-02-28"), 2 * day)
        XCTAssertEqual(try micros("2023-03-01") - micros("2023-02-28"), 1 * day)
        XCTAssertEqual(try micros("1900-03-01") - micros("1900-02-28"), 1 * day)
        XCTAssertEqual(try micros("2025-01-01") - micros("2024-01-01"), 366 * day)
        XCTAssertEqual(try micros("2026-01-01") - micros("2025-01-01"), 365 * day)
        XCTAssertEqual(try micros("2001-01-01") - micros("2000-01-01"), 366 * day)
        XCTAssertEqual(try micros("1901-01-01") - micros("1900-01-01"), 365 * day)
    }

    func testOrdering() throws {
        XCTAssertLessThan(try Timestamp(parsing: "2026-01-01T00:00:00Z"), try Timestamp(parsing: "2026-01-01T00:00:00.000001Z"))
        XCTAssertLessThan(Timestamp(microseconds: -5), Timestamp(microseconds: 0))
    }
}
