import EspyCluster
import EspyCore
import XCTest

final class OwnershipRuleTests: XCTestCase {
    private let rule = OwnershipRule()
    private let failedAt = Timestamp(microseconds: 1_800_000_000 * Timestamp.microsecondsPerSecond)

    private func after(hours: Int64, seconds: Int64 = 0) -> Timestamp {
        Timestamp(microseconds: failedAt.microseconds + (hours * 3600 + seconds) * Timestamp.microsecondsPerSecond)
    }

    func testDefaultFailureTimeout_is24Hours() {
        XCTAssertEqual(OwnershipRule.defaultFailureTimeout, .seconds(86_400))
    }

    func testAliveAndSuspect_ownWhateverTheTime() {
        XCTAssertEqual(rule.ownership(status: .alive, statusSince: failedAt, now: after(hours: 1000)), .owning)
        XCTAssertEqual(rule.ownership(status: .suspect, statusSince: failedAt, now: after(hours: 1000)), .owning)
    }

    func testDead_ownsUntilTheFailureTimeoutHasPassed() {
        XCTAssertEqual(rule.ownership(status: .dead, statusSince: failedAt, now: after(hours: 0, seconds: 30)), .owning,
                       "gossip reaping after 30 s must not move data")
        XCTAssertEqual(rule.ownership(status: .dead, statusSince: failedAt, now: after(hours: 24)), .owning)
        XCTAssertEqual(rule.ownership(status: .dead, statusSince: failedAt, now: after(hours: 24, seconds: 1)), .released)
    }

    func testShorterTimeout_isHonoured() {
        let quick = OwnershipRule(failureTimeout: .seconds(60))
        XCTAssertEqual(quick.ownership(status: .dead, statusSince: failedAt, now: after(hours: 0, seconds: 60)), .owning)
        XCTAssertEqual(quick.ownership(status: .dead, statusSince: failedAt, now: after(hours: 0, seconds: 61)), .released)
    }

    func testLeftAndOperatorRemoval_releaseAtOnce() {
        XCTAssertEqual(rule.ownership(status: .left, statusSince: failedAt, now: failedAt), .released)
        XCTAssertEqual(rule.ownership(status: .dead, statusSince: failedAt, now: failedAt, removedByOperator: true), .released)
        XCTAssertEqual(rule.ownership(status: .alive, statusSince: failedAt, now: failedAt, removedByOperator: true), .released)
    }
}
