import EspyCore
@testable import EspyStorage
import EspyTestRandom
import XCTest

final class RollupPlanTests: XCTestCase {
    private let day = Timestamp.microsecondsPerDay

    private func at(_ micros: Int64) -> Timestamp { Timestamp(microseconds: micros) }

    func testUnboundedRangeIsAllDaysWithoutEdges() {
        let plan = RollupPlan(since: nil, until: nil)
        XCTAssertEqual(plan.fullDays, Int64.min..<Int64.max)
        XCTAssertEqual(plan.edges, [])
    }

    func testRangeOnMidnightsIsWholeDaysOnly() {
        let plan = RollupPlan(since: at(3 * day), until: at(7 * day))
        XCTAssertEqual(plan.fullDays, 3..<7)
        XCTAssertEqual(plan.edges, [])
    }

    func testPartialDaysAtBothEndsBecomeEdges() {
        let plan = RollupPlan(since: at(3 * day + 5), until: at(7 * day + 9))
        XCTAssertEqual(plan.fullDays, 4..<7)
        XCTAssertEqual(plan.edges, [(3 * day + 5)..<(4 * day), (7 * day)..<(7 * day + 9)])
    }

    func testRangeInsideOneDayIsOneEdge() {
        let plan = RollupPlan(since: at(3 * day + 5), until: at(3 * day + 500))
        XCTAssertNil(plan.fullDays)
        XCTAssertEqual(plan.edges, [(3 * day + 5)..<(3 * day + 500)])
    }

    func testRangeAcrossOneMidnightWithoutAWholeDayIsOneEdge() {
        let plan = RollupPlan(since: at(3 * day + 5), until: at(4 * day + 5))
        XCTAssertNil(plan.fullDays)
        XCTAssertEqual(plan.edges, [(3 * day + 5)..<(4 * day + 5)])
    }

    func testOpenEndsUseTheRollupsOnThatSide() {
        let since = RollupPlan(since: at(3 * day + 5), until: nil)
        XCTAssertEqual(since.fullDays, 4..<Int64.max)
        XCTAssertEqual(since.edges, [(3 * day + 5)..<(4 * day)])
        let until = RollupPlan(since: nil, until: at(7 * day + 9))
        XCTAssertEqual(until.fullDays, Int64.min..<7)
        XCTAssertEqual(until.edges, [(7 * day)..<(7 * day + 9)])
    }

    func testEmptyAndInvertedRangesCoverNothing() {
        XCTAssertEqual(RollupPlan(since: at(5 * day), until: at(5 * day)), RollupPlan(since: at(9), until: at(9)))
        XCTAssertNil(RollupPlan(since: at(5 * day), until: at(5 * day)).fullDays)
        XCTAssertEqual(RollupPlan(since: at(5 * day), until: at(5 * day)).edges, [])
        XCTAssertNil(RollupPlan(since: at(6 * day + 1), until: at(2 * day)).fullDays)
        XCTAssertEqual(RollupPlan(since: at(6 * day + 1), until: at(2 * day)).edges, [])
    }

    func testPreEpochPartialDays() {
        let plan = RollupPlan(since: at(-2 * day - 1), until: at(-1))
        XCTAssertEqual(plan.fullDays, -2 ..< -1)
        XCTAssertEqual(plan.edges, [(-2 * day - 1)..<(-2 * day), (-day)..<(-1)])
    }

    /// Whole days plus edges cover exactly [since, until), every instant once.
    func testPlanCoversTheRangeExactlyOnce() {
        var random = SplitMix64(seed: 1)
        for _ in 0..<2000 {
            // Some bounds on whole seconds or midnights, where edges vanish.
            let granularity = [1, Timestamp.microsecondsPerSecond, day][Int.random(in: 0...2, using: &random)]
            let a = Int64.random(in: (-3 * day)...(3 * day), using: &random) / granularity * granularity
            let b = a + Int64.random(in: 0...(4 * day), using: &random)
            let plan = RollupPlan(since: at(a), until: at(b))
            var pieces = plan.edges
            if let days = plan.fullDays {
                XCTAssertFalse(days.isEmpty)
                pieces.append((days.lowerBound * day)..<(days.upperBound * day))
            }
            pieces.sort { $0.lowerBound < $1.lowerBound }
            let covered = pieces.filter { !$0.isEmpty }
            if a == b {
                XCTAssertTrue(covered.isEmpty)
                continue
            }
            XCTAssertEqual(covered.first?.lowerBound, a, "[\(a), \(b))")
            XCTAssertEqual(covered.last?.upperBound, b, "[\(a), \(b))")
            for (left, right) in zip(covered, covered.dropFirst()) {
                XCTAssertEqual(left.upperBound, right.lowerBound, "[\(a), \(b)) has a gap or overlap")
            }
        }
    }
}
