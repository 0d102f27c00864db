import EspyCluster
import EspyCore
import XCTest

/// The rows of a count answer: percentages, top N with the rest as `(other)`, and the orders.
final class CountRowsTests: XCTestCase {
    private func composite(_ rows: [([String?], Int)], paths: Int = 2) -> (CountQuery, CountResult) {
        var query = CountQuery()
        query.groupPaths = (0..<paths).map { try! FieldPath(parsing: "p\($0)") }
        query.groupPathTexts = query.groupPaths.map(\.description)
        var result = CountResult()
        for (key, count) in rows {
            // One path without filters is the seed's question: plain keys, and a missing count.
            if query.isComposite {
                result.counts[CompositeKey.encode(key)] = count
            } else if let value = key[0] {
                result.counts[value] = count
            } else {
                result.missingCount += count
            }
            result.recordCount += count
        }
        return (query, result)
    }

    func testTopKeepsTheLargest_andOtherHoldsTheRest_soSharesAddUpTo100() {
        let (query, result) = composite([(["a", "x"], 50), (["b", "x"], 30), (["c", "y"], 15), (["d", nil], 5)])
        let rows = CountRows(query: query, result: result, top: 2, order: .count)
        XCTAssertEqual(rows.rows.filter { !$0.isOther }.map(\.key), [["a", "x"], ["b", "x"]])
        XCTAssertEqual(rows.other, 20)
        XCTAssertEqual(rows.total, 100)
        XCTAssertEqual(rows.rows.map { rows.share($0) }, [5000, 3000, 2000])
        XCTAssertNil(CountRows(query: query, result: result, top: 4, order: .count).other, "nothing cut, no (other)")
    }

    func testSharesAreRoundedHundredthsOfAPercent() {
        let (query, result) = composite([(["a"], 2), (["b"], 1)], paths: 1)
        let rows = CountRows(query: query, result: result, top: nil, order: .count)
        XCTAssertEqual(rows.rows.map { rows.share($0.count) }, [6667, 3333])
        var answer = JSONObject()
        rows.add(to: &answer, paths: ["p0"])
        XCTAssertEqual(String(decoding: answer.finished, as: UTF8.self),
                       #"{"rows":[{"key":{"p0":"a"},"count":2,"percent":66.67},{"key":{"p0":"b"},"count":1,"percent":33.33}],"total":3}"#)
    }

    func testTiesOrderByKey_soEveryNodeAnswersAlike() {
        let (query, result) = composite([(["b"], 5), (["a"], 5), ([nil], 5), (["c"], 9)], paths: 1)
        XCTAssertEqual(CountRows(query: query, result: result, top: nil, order: .count).rows.map(\.key), [["c"], ["a"], ["b"], [nil]])
    }

    func testTopPicksByCountThenOrdersByKeyOrVersion() {
        let (query, result) = composite([(["3.10"], 40), (["3.9"], 30), (["2.7"], 20), (["3.13"], 10)], paths: 1)
        XCTAssertEqual(CountRows(query: query, result: result, top: 3, order: .key).rows.map(\.key), [["2.7"], ["3.10"], ["3.9"], []])
        XCTAssertEqual(CountRows(query: query, result: result, top: nil, order: .version).rows.map(\.key),
                       [["2.7"], ["3.9"], ["3.10"], ["3.13"]])
    }

    func testBucketsComeOldestFirst_andTopAndSharesApplyWithinEach() {
        var query = CountQuery()
        query.groupPaths = [try! FieldPath(parsing: "v")]
        query.groupPathTexts = ["v"]
        query.bucket = .week
        var result = CountResult()
        for (week, value, count) in [("2026-11-30", "3", 30), ("2026-11-30", "2", 10), ("2026-11-23", "3", 5),
                                     ("2026-11-23", "2", 3), ("2026-11-23", nil, 2)] as [(String, String?, Int)] {
            result.counts[CompositeKey.encode([week, value])] = count
            result.recordCount += count
        }
        let rows = CountRows(query: query, result: result, top: 1, order: .count)
        XCTAssertEqual(rows.rows, [.init(bucket: "2026-11-23", key: ["3"], count: 5), .init(bucket: "2026-11-23", key: [], count: 5, isOther: true),
                                   .init(bucket: "2026-11-30", key: ["3"], count: 30), .init(bucket: "2026-11-30", key: [], count: 10, isOther: true)])
        XCTAssertEqual(rows.rows.map { rows.share($0) }, [5000, 5000, 7500, 2500], "shares of each week's records")
        XCTAssertEqual(rows.total, 50)
    }

    func testVersionOrderReadsNumbersAsNumbers() {
        let ascending = ["2.7", "2.7.18", "3.9", "3.10", "3.13", "OpenSSL 1.0.2k", "OpenSSL 1.1.1", "OpenSSL 1.1.1w", "OpenSSL 3.0.11"]
        for (lower, higher) in zip(ascending, ascending.dropFirst()) {
            XCTAssertTrue(VersionOrder.precedes(lower, higher), "\(lower) < \(higher)")
            XCTAssertFalse(VersionOrder.precedes(higher, lower), "\(higher) ≮ \(lower)")
        }
        XCTAssertEqual(ascending.shuffled().sorted(by: VersionOrder.precedes), ascending)
        XCTAssertTrue(VersionOrder.precedes("3.09", "3.10"), "leading zeros do not make a number larger")
    }

    func testTheSeedsSinglePathAnswer_putsRecordsWithoutThePathInARowOfTheirOwn() {
        var query = CountQuery(groupBy: try! FieldPath(parsing: "os"))
        XCTAssertFalse(query.isComposite)
        let result = CountResult(recordCount: 10, counts: ["Linux": 7, "Darwin": 1], missingCount: 2)
        let rows = CountRows(query: query, result: result, top: nil, order: .count)
        XCTAssertEqual(rows.rows, [.init(key: ["Linux"], count: 7), .init(key: [nil], count: 2), .init(key: ["Darwin"], count: 1)])
        query.groupPaths = []
        XCTAssertEqual(CountRows(query: query, result: result, top: nil, order: .count).rows.map(\.count), [10], "no group_by: one row")
    }
}
