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

    /// Keeping one of two values silently answers a question the client did not ask.
    func testRepeatedParameterIsRefusedNamingIt() {
        assertRejects([("limit", "5"), ("limit", "7")], naming: "limit")
        assertRejects([("since", "2026-01-01"), ("since", "2026-01-01")], naming: "since")
        assertRejects([("until", "2026-01-01"), ("until", "2026-01-02")], naming: "until")
        // group_by repeats with a meaning now (CompositeQueryTests); the same path twice has none.
        assertRejects([("group_by", "a"), ("since", "2026-01-01"), ("group_by", "a")], naming: "group_by")
    }

    // MARK: group_by limits

    func testGroupByUpToTheLimitsIsAccepted() throws {
        let segments = (0..<CountQuery.maxGroupBySegments).map { "s\($0)" }
        XCTAssertEqual(try query([("group_by", segments.joined(separator: "$"))]).groupBy?.segments, segments)
        let long = String(repeating: "k", count: CountQuery.maxGroupByBytes)
        XCTAssertEqual(try query([("group_by", long)]).groupBy?.segments, [long])
    }

    func testGroupByOverTheLimitsIsRefusedNamingGroupBy() {
        let tooMany = (0...CountQuery.maxGroupBySegments).map { _ in "a" }.joined(separator: ".")
        assertRejects([("group_by", tooMany)], naming: "group_by")
        assertRejects([("group_by", String(repeating: "a$", count: 10_000) + "a")], naming: "group_by")
        assertRejects([("group_by", String(repeating: "k", count: CountQuery.maxGroupByBytes + 1))], naming: "group_by")
        XCTAssertThrowsError(try query([("group_by", tooMany)])) { error in
            XCTAssertTrue("\(error)".contains("at most 64"), "\(error)")
        }
        XCTAssertThrowsError(try query([("group_by", String(repeating: "é", count: 600))])) { error in
            XCTAssertTrue("\(error)".contains("1200 bytes long; at most 1024"), "\(error)")
        }
    }

    // MARK: Offsets typed with a literal '+'

    /// `since=2026-12-01T22:00:00+01:00` as the docs show it: the query string's `+` arrives as
    /// a space, which can only have been the offset's sign.
    func testSpaceWhereTheOffsetSignBelongsIsReadAsPlus() throws {
        let expected = try Timestamp(parsing: "2026-12-01T21:00:00Z")
        XCTAssertEqual(try query([("since", "2026-12-01T22:00:00 01:00")]).since, expected)
        XCTAssertEqual(try query([("until", "2026-12-01T22:00:00.5 01:00")]).until,
                       Timestamp(microseconds: expected.microseconds + 500_000))
        XCTAssertEqual(try query([("since", "2026-12-01 22:00:00 01:00")]).since, expected)
        XCTAssertEqual(try query([("since", "2026-12-01T20:00:00-01:00")]).since, expected)
    }

    func testOtherSpacesAreStillRefused() {
        assertRejects([("since", "2026-12-01T22:00:00  01:00")], naming: "since")
        assertRejects([("since", "2026-12-01 01:00")], naming: "since")
        assertRejects([("since", "2026-12-01T22:00:00 0100")], naming: "since")
    }

    func testRefusedTimeSaysHowToWriteAPlus() {
        XCTAssertThrowsError(try query([("until", "2026-12-01T22:00:00+1:00")])) { error in
            XCTAssertTrue("\(error)".contains("%2B"), "\(error)")
        }
    }

    // MARK: Parameter names

    private func check(_ names: [String], allowed: [String]) throws {
        try QueryParameters.check(names.map { (name: $0, value: "1") }, allowed: allowed)
    }

    func testCheckAcceptsKnownParametersOnce() throws {
        try check([], allowed: [])
        try check(["since", "group_by"], allowed: ["group_by", "since"])
    }

    func testCheckRefusesUnknownParametersNamingThem() {
        XCTAssertThrowsError(try check(["format"], allowed: ["group_by", "limit"])) { error in
            XCTAssertEqual((error as? QueryParameterError)?.parameter, "format")
            XCTAssertTrue("\(error)".contains("use group_by, limit"), "\(error)")
        }
        XCTAssertThrowsError(try check(["x"], allowed: [])) { error in
            XCTAssertEqual("\(error)", "parameter 'x' is not known; this endpoint takes no parameters")
        }
    }

    func testCheckRefusesRepeatedParametersNamingThem() {
        XCTAssertThrowsError(try check(["allow_partial", "since", "allow_partial"], allowed: ["since", "allow_partial"])) { error in
            XCTAssertEqual("\(error)", "parameter 'allow_partial' is given more than once")
        }
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
