import EspyCore
import XCTest

/// Bucket boundaries: UTC midnight, ISO weeks across a year end, month ends and leap days.
final class TimeBucketTests: XCTestCase {
    private func label(_ bucket: TimeBucket, _ time: String) throws -> String {
        bucket.label(of: try Timestamp(parsing: time))
    }

    func testDaysEndAtUTCMidnight() throws {
        XCTAssertEqual(try label(.day, "2026-11-30T23:59:59.999999Z"), "2026-11-30")
        XCTAssertEqual(try label(.day, "2026-12-01T00:00:00Z"), "2026-12-01")
        XCTAssertEqual(try label(.day, "2026-12-01T00:30:00+01:00"), "2026-11-30", "an offset is converted to UTC first")
    }

    func testWeeksStartOnMonday_evenAcrossAYearEnd() throws {
        XCTAssertEqual(try label(.week, "2026-11-30T00:00:00Z"), "2026-11-30", "a Monday starts its own week")
        XCTAssertEqual(try label(.week, "2026-12-06T23:59:59Z"), "2026-11-30", "Sunday closes it")
        XCTAssertEqual(try label(.week, "2026-12-07T00:00:00Z"), "2026-12-07")
        XCTAssertEqual(try label(.week, "2026-01-01T12:00:00Z"), "2025-12-29", "ISO week 1 of 2026 starts in 2025")
        XCTAssertEqual(try label(.week, "1970-01-01T00:00:00Z"), "1969-12-29")
        XCTAssertEqual(try label(.week, "1969-12-28T00:00:00Z"), "1969-12-22", "before the epoch too")
    }

    func testMonthsEndOnTheirLastDay_leapDaysIncluded() throws {
        XCTAssertEqual(try label(.month, "2024-02-29T23:59:59Z"), "2024-02-01")
        XCTAssertEqual(try label(.month, "2024-03-01T00:00:00Z"), "2024-03-01")
        XCTAssertEqual(try label(.month, "2026-12-31T23:59:59Z"), "2026-12-01")
    }

    func testTheLabellerFormatsOncePerDay_andAgreesWithTheBucket() throws {
        var labeller = TimeBucketLabeller(.week)
        for time in ["2026-11-29T10:00:00Z", "2026-11-30T10:00:00Z", "2026-11-30T11:00:00Z", "2026-12-08T00:00:00Z"] {
            XCTAssertEqual(labeller.label(of: try Timestamp(parsing: time)), try label(.week, time))
        }
    }

    func testABadBucketIsRefusedNamingIt() {
        XCTAssertThrowsError(try CountQuery(parameters: [(name: "bucket", value: "year")])) { error in
            XCTAssertEqual("\(error)", "parameter 'bucket' must be day, week or month, got 'year'")
        }
    }
}
