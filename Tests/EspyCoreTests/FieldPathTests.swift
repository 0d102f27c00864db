import EspyCore
import XCTest

final class FieldPathTests: XCTestCase {
    func testDollarSeparatedPathSplitsOnDollar() throws {
        XCTAssertEqual(try FieldPath(parsing: "python$version_info$0").segments, ["python", "version_info", "0"])
    }

    func testDottedPathSplitsOnDotsWhenNoDollar() throws {
        XCTAssertEqual(try FieldPath(parsing: "python.version_info.0").segments, ["python", "version_info", "0"])
    }

    func testDollarPathKeepsDotsInsideKeys() throws {
        XCTAssertEqual(try FieldPath(parsing: "env$a.b").segments, ["env", "a.b"])
    }

    func testEmptySegmentsAreRejected() {
        XCTAssertThrowsError(try FieldPath(parsing: ""))
        XCTAssertThrowsError(try FieldPath(parsing: "python$$0"))
        XCTAssertThrowsError(try FieldPath(parsing: "python."))
    }
}
