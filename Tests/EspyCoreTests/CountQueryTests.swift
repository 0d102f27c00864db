import EspyCore
import XCTest

final class CountQueryTests: XCTestCase {
    private func query(_ parameters: [(String, String)]) throws -> CountQuery {
        try CountQuery(parameters: parameters.map { (name: $0.0, value: $0.1) })
    }

    private func assertRejects(_ parameters: [(String, String)], naming parameter: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            let parsed = try query(parameters)
            XCTFail("accepted \(parameters) as \(parsed)", file: file, line: line)
        } catch let error as QueryParameterError {
            XCTAssertEqual(error.parameter, parameter, file: file, line: line)
            XCTAssertTrue(error.description.contains("'\(parameter)'"), error.description, file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testNoParametersMeansCountEverything() throws {
        let parsed = try query([])
        XCTAssertNil(parsed.groupBy)
        XCTAssertNil(parsed.groupByText)
        XCTAssertNil(parsed.limit)
        XCTAssertNil(parsed.since)
        XCTAssertNil(parsed.until)
    }

    func testGroupByWithDollarSeparators() throws {
        let parsed = try query([("group_by", "python$version_info$0")])
        XCTAssertEqual(parsed.groupBy?.segments, ["python", "version_info", "0"])
        XCTAssertEqual(parsed.groupByText, "python$version_info$0")
    }

    func testGroupByWithDotsKeepsTheClientSpelling() throws {
        let parsed = try query([("group_by", "uname.release")])
        XCTAssertEqual(parsed.groupBy?.segments, ["uname", "release"])
        XCTAssertEqual(parsed.groupByText, "uname.release")
        XCTAssertEqual(parsed.groupBy?.description, "uname$release")
    }

    func testAllParametersTogether() throws {
        let parsed = try query([("group_by", "uname$system"), ("limit", "100"), ("since", "2026-01-01"),
                                ("until", "2026-01-02T12:00:00+02:00"), ("format", "ignored")])
        XCTAssertEqual(parsed.groupBy, try FieldPath(parsing: "uname$system"))
        XCTAssertEqual(parsed.limit, 100)
        XCTAssertEqual(parsed.since, try Timestamp(parsing: "2026-01-01T00:00:00Z"))
        XCTAssertEqual(parsed.until, try Timestamp(parsing: "2026-01-02T10:00:00Z"))
    }

    func testLimitZeroIsAllowed() throws {
        XCTAssertEqual(try query([("limit", "0")]).limit, 0)
    }

    func testEqualSinceAndUntilIsAnEmptyButValidRange() throws {
        let parsed = try query([("since", "2026-01-01"), ("until", "2026-01-01")])
        XCTAssertEqual(parsed.since, parsed.until)
        XCTAssertFalse(parsed.contains(try Timestamp(parsing: "2026-01-01")))
    }

    func testLaterParameterOfTheSameNameWins() throws {
        XCTAssertEqual(try query([("limit", "5"), ("limit", "7")]).limit, 7)
    }

    func testErrorsNameTheParameter() {
        assertRejects([("limit", "-1")], naming: "limit")
        assertRejects([("limit", "abc")], naming: "limit")
        assertRejects([("limit", "")], naming: "limit")
        assertRejects([("limit", "1.5")], naming: "limit")
        assertRejects([("since", "bad")], naming: "since")
        assertRejects([("until", "2026-02-30")], naming: "until")
        assertRejects([("group_by", "")], naming: "group_by")
        assertRejects([("group_by", "a$$b")], naming: "group_by")
        assertRejects([("since", "2026-01-02"), ("until", "2026-01-01")], naming: "until")
        assertRejects([("until", "2026-01-01"), ("since", "2026-01-01T00:00:00.000001Z")], naming: "until")
    }

    func testLimitErrorQuotesTheValue() {
        XCTAssertThrowsError(try query([("limit", "abc")])) { error in
            XCTAssertTrue("\(error)".contains("'abc'"), "\(error)")
        }
    }

    func testContainsIsInclusiveOfSinceAndExclusiveOfUntil() {
        let since = Timestamp(microseconds: 100)
        let until = Timestamp(microseconds: 200)
        let bounded = CountQuery(since: since, until: until)
        XCTAssertFalse(bounded.contains(Timestamp(microseconds: 99)))
        XCTAssertTrue(bounded.contains(Timestamp(microseconds: 100)))
        XCTAssertTrue(bounded.contains(Timestamp(microseconds: 199)))
        XCTAssertFalse(bounded.contains(Timestamp(microseconds: 200)))
        XCTAssertTrue(CountQuery().contains(Timestamp(microseconds: Int64.min)))
        XCTAssertTrue(CountQuery(since: since).contains(Timestamp(microseconds: Int64.max)))
        XCTAssertFalse(CountQuery(until: until).contains(Timestamp(microseconds: 200)))
    }

    func testMemberwiseInitDerivesGroupByText() throws {
        XCTAssertEqual(CountQuery(groupBy: try FieldPath(parsing: "a.b")).groupByText, "a$b")
        XCTAssertEqual(CountQuery(groupBy: try FieldPath(parsing: "a.b"), groupByText: "a.b").groupByText, "a.b")
    }
}
