import EspyCore
import XCTest

final class CountResultTests: XCTestCase {
    func testMergeAddsEveryField() {
        var total = CountResult(recordCount: 10, counts: ["3": 6, "2": 3], missingCount: 1)
        total.merge(CountResult(recordCount: 7, counts: ["3": 2, "pypy": 4], missingCount: 1))
        XCTAssertEqual(total, CountResult(recordCount: 17, counts: ["3": 8, "2": 3, "pypy": 4], missingCount: 2))
    }

    func testMergingAnEmptyResultChangesNothing() {
        var total = CountResult(recordCount: 3, counts: ["a": 3])
        total.merge(CountResult())
        XCTAssertEqual(total, CountResult(recordCount: 3, counts: ["a": 3], missingCount: 0))
    }

    func testMergeIsOrderIndependent() {
        let parts = [CountResult(recordCount: 2, counts: ["x": 2]),
                     CountResult(recordCount: 5, counts: ["y": 4], missingCount: 1),
                     CountResult(recordCount: 1, counts: ["x": 1])]
        var forward = CountResult()
        parts.forEach { forward.merge($0) }
        var backward = CountResult()
        parts.reversed().forEach { backward.merge($0) }
        XCTAssertEqual(forward, backward)
        XCTAssertEqual(forward, CountResult(recordCount: 8, counts: ["x": 3, "y": 4], missingCount: 1))
    }

    func testSortedCountsAreLargestFirstThenByKey() {
        let result = CountResult(recordCount: 0, counts: ["b": 2, "a": 2, "c": 5, "z": 1, "10": 2, "9": 2])
        let sorted = result.sortedCounts
        XCTAssertEqual(sorted.map(\.key), ["c", "10", "9", "a", "b", "z"])
        XCTAssertEqual(sorted.map(\.count), [5, 2, 2, 2, 2, 1])
    }

    func testSortedCountsOfNoGroupsIsEmpty() {
        XCTAssertTrue(CountResult(recordCount: 4).sortedCounts.isEmpty)
    }
}
