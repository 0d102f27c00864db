import EspyCluster
import XCTest

/// The rule that a replica knows, or is told, that it is behind before anyone reads it.
final class ReplicaReadinessTests: XCTestCase {
    private func caughtUpReplica(partitions: Int = 8) -> ReplicaReadiness {
        var readiness = ReplicaReadiness(partitionCount: partitions, stallMilliseconds: 3_250, now: 0)
        readiness.caughtUp(Set(0..<partitions))
        return readiness
    }

    func testAStartedProcessIsBehindEverywhere_untilRepairSaysOtherwise() {
        var readiness = ReplicaReadiness(partitionCount: 4, stallMilliseconds: 3_250, now: 0)
        XCTAssertEqual(readiness.catchingUp, [0, 1, 2, 3])
        XCTAssertFalse(readiness.isReadable(0))
        readiness.caughtUp([0, 2])
        XCTAssertEqual(readiness.catchingUp, [1, 3])
        XCTAssertEqual(readiness.catchUpTotal, 4, "progress counts from the first partition gained")
        readiness.caughtUp([1, 3])
        XCTAssertEqual(readiness.catchUpTotal, 0)
        XCTAssertTrue((0..<4).allSatisfy(readiness.isReadable))
    }

    func testAMapChangeMakesGainedPartitionsCatchUp_andLostOnesUnreadable() {
        var readiness = caughtUpReplica(partitions: 4)
        XCTAssertEqual(readiness.placementChanged(owned: [true, false, true, true]), 0)
        XCTAssertFalse(readiness.isReadable(1), "not owned any more")
        XCTAssertEqual(readiness.placementChanged(owned: [true, true, true, false]), 1)
        XCTAssertEqual(readiness.catchingUp, [1])
        XCTAssertFalse(readiness.owns(3))
    }

    /// This node cannot tell peers that are down from being cut off from peers that go on
    /// acknowledging writes without it: partitions with no reachable peer are not read, repair
    /// with nobody does not catch them up, and once a peer is back they wait for reconciling.
    func testPartitionsWithNoReachablePeer_areNotRead_untilAPeerIsBackAndRepairReconciled() {
        var readiness = caughtUpReplica(partitions: 4)
        XCTAssertTrue(readiness.reachabilityChanged(cutOff: [1, 2]) == (2, 0))
        XCTAssertEqual(readiness.catchingUp, [1, 2])
        XCTAssertFalse(readiness.isReadable(1))
        readiness.caughtUp([0, 1, 2, 3])
        XCTAssertEqual(readiness.catchingUp, [1, 2], "reconciled with nobody is not caught up")
        XCTAssertTrue(readiness.reachabilityChanged(cutOff: [2]) == (0, 1), "a peer of 1 is back: nothing newly cut off")
        XCTAssertFalse(readiness.isReadable(1), "back, but not reconciled with yet")
        readiness.caughtUp([1, 2])
        XCTAssertEqual(readiness.catchingUp, [2])
        XCTAssertTrue(readiness.isReadable(1))
        readiness.placementChanged(owned: [true, true, true, false])
        XCTAssertTrue(readiness.reachabilityChanged(cutOff: [3]) == (0, 1), "3 is not owned: nothing to decline")
    }

    func testALoopThatStoodStillLongerThanPeersWait_isBehindEverywhere_butOnlyOnce() {
        var readiness = caughtUpReplica()
        XCTAssertNil(readiness.loopRan(at: 250))
        XCTAssertNil(readiness.loopRan(at: 3_000), "2.75 s is within what peers wait")
        let marks = readiness.behindMarks
        XCTAssertEqual(readiness.loopRan(at: 7_000), 4_000)
        XCTAssertEqual(readiness.catchingUp.count, 8)
        XCTAssertEqual(readiness.behindMarks, marks + 1, "a repair round begun before must not declare them caught up")
        XCTAssertNil(readiness.loopRan(at: 12_000), "already behind everywhere: nothing new to say")
    }

    func testMarkingBehindCountsOnlyOwnedPartitionsThatWereReadable() {
        var readiness = caughtUpReplica(partitions: 4)
        _ = readiness.placementChanged(owned: [true, true, false, true])
        XCTAssertFalse(readiness.markBehind([2]), "not owned: nothing to catch up on")
        XCTAssertTrue(readiness.markBehind([1, 2]))
        XCTAssertEqual(readiness.catchingUp, [1])
        XCTAssertFalse(readiness.markBehind([1]), "already catching up")
    }

    func testAMissedWriteToAPartitionAlreadyCatchingUp_stillStopsARoundInFlightFromClearingIt() {
        var readiness = caughtUpReplica(partitions: 4)
        readiness.markBehind([2])
        let roundBegan = readiness.behindMarks
        // The round reconciles partition 2; then a write to it fails before the round ends.
        readiness.markBehind([2])
        XCTAssertNotEqual(readiness.behindMarks, roundBegan, "the round must not declare partition 2 caught up")
        XCTAssertEqual(readiness.catchingUp, [2])
    }

    func testAFailingDiskIsSaidOncePerSpell_andPutsEveryPartitionBehind_untilRepaired() {
        var readiness = caughtUpReplica()
        XCTAssertEqual(readiness.localWrite(partitions: [1, 2], failure: "disk full"), .startedFailing)
        // Writes for the others may be on their way to the same full disk.
        XCTAssertEqual(readiness.catchingUp, Set(0..<8))
        readiness.caughtUp([0, 4, 5, 6, 7])
        XCTAssertEqual(readiness.localWrite(partitions: [3], failure: "disk full"), .none)
        XCTAssertEqual(readiness.storageFailure, "disk full")
        XCTAssertEqual(readiness.catchingUp, [1, 2, 3])
        XCTAssertEqual(readiness.localWrite(partitions: [4], failure: nil), .recovered(lastError: "disk full"))
        XCTAssertNil(readiness.storageFailure)
        XCTAssertEqual(readiness.catchingUp, [1, 2, 3], "what the failed writes missed is still missing")
        XCTAssertEqual(readiness.localWrite(partitions: [4], failure: nil), .none)
    }

    func testEveryChangeToCatchingUpMovesTheGeneration_soCachedPlansAreRebuilt() {
        var readiness = caughtUpReplica()
        var generation = readiness.generation
        func moved() -> Bool { defer { generation = readiness.generation }; return readiness.generation != generation }
        readiness.markBehind([5])
        XCTAssertTrue(moved())
        readiness.markBehind([5])
        XCTAssertFalse(moved())
        readiness.caughtUp([5])
        XCTAssertTrue(moved())
    }
}
