import EspyCore
import XCTest

/// Several `group_by` paths and `where` / `where_not` filters, and the key their counts travel under.
final class CompositeQueryTests: XCTestCase {
    private func query(_ parameters: [(String, String)]) throws -> CountQuery {
        try CountQuery(parameters: parameters.map { (name: $0.0, value: $0.1) })
    }

    private func assertRejects(_ parameters: [(String, String)], naming parameter: String, saying text: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try query(parameters), file: file, line: line) { error in
            XCTAssertEqual((error as? QueryParameterError)?.parameter, parameter, file: file, line: line)
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
        }
    }

    func testOneGroupByWithoutFiltersIsTheSeedsQuestion() throws {
        let seed = try query([("group_by", "uname.system")])
        XCTAssertFalse(seed.isComposite)
        XCTAssertEqual(seed.groupBy, try FieldPath(parsing: "uname.system"))
        let filtered = try query([("group_by", "uname.system"), ("where", "python.implementation:CPython")])
        XCTAssertTrue(filtered.isComposite)
        XCTAssertNil(filtered.groupBy, "a composite query must not be answered by the single-path rollups")
        XCTAssertEqual(filtered.groupPathTexts, ["uname.system"])
    }

    func testRepeatedGroupByKeepsItsOrder_upToFour() throws {
        let parsed = try query([("group_by", "b"), ("group_by", "a$x"), ("group_by", "c")])
        XCTAssertEqual(parsed.groupPathTexts, ["b", "a$x", "c"])
        XCTAssertTrue(parsed.isComposite)
        assertRejects((1...5).map { ("group_by", "p\($0)") }, naming: "group_by", saying: "at most 4")
        assertRejects([("group_by", "a"), ("group_by", "a")], naming: "group_by", saying: "twice")
    }

    func testTheSamePathIsOr_differentPathsAreAnd_whereNotExcludes() throws {
        let parsed = try query([("where", "os:Linux"), ("where", "arch:x86_64"), ("where", "os:Darwin"),
                                ("where_not", "py:2.7"), ("where", "host:(missing)")])
        XCTAssertEqual(parsed.filters.map(\.path.description), ["os", "arch", "py", "host"])
        XCTAssertEqual(parsed.filters[0].values, ["Linux", "Darwin"])
        XCTAssertEqual(parsed.filters[3].values, [nil], "(missing) means a record without the path")
        // Values in compositePaths order: os, arch, py, host.
        XCTAssertTrue(parsed.admits(["Darwin", "x86_64", "3.12", nil]))
        XCTAssertFalse(parsed.admits(["FreeBSD", "x86_64", "3.12", nil]), "os is neither Linux nor Darwin")
        XCTAssertFalse(parsed.admits(["Linux", "arm64", "3.12", nil]), "arch must hold too")
        XCTAssertFalse(parsed.admits(["Linux", "x86_64", "2.7", nil]), "where_not excludes")
        XCTAssertFalse(parsed.admits(["Linux", "x86_64", "3.12", "h1"]), "host must be missing")
    }

    func testAValueMayHoldColons_onlyThePathEndsAtTheFirst() throws {
        let parsed = try query([("where", "server_time_text:2026-12-01T10:00")])
        XCTAssertEqual(parsed.filters[0].values, ["2026-12-01T10:00"])
        XCTAssertEqual(parsed.filters[0].parameters.map(\.value), ["server_time_text:2026-12-01T10:00"])
    }

    func testMalformedConditionsNameTheirParameter() {
        assertRejects([("where", "uname.system")], naming: "where", saying: "PATH:VALUE")
        assertRejects([("where_not", ":Linux")], naming: "where_not", saying: "where_not")
        assertRejects([("where", String(repeating: "k", count: CountQuery.maxGroupByBytes + 1) + ":v")], naming: "where", saying: "bytes")
        assertRejects((1...9).map { ("where", "p\($0):v") }, naming: "where", saying: "at most 8")
    }

    func testCompositeKeysRoundTripEveryValue() {
        let samples: [[String?]] = [["3", "Linux"], [nil, "a|b"], ["back\\slash", nil], ["", "=", "-", "|", "\\|"], ["ünï\ncode"]]
        for values in samples {
            XCTAssertEqual(CompositeKey.decode(CompositeKey.encode(values)), values, CompositeKey.encode(values))
        }
        XCTAssertNotEqual(CompositeKey.encode(["a|", "b"]), CompositeKey.encode(["a", "|b"]))
        XCTAssertNil(CompositeKey.decode("nonsense"))
        XCTAssertNil(CompositeKey.decode("=a|"))
    }
}
