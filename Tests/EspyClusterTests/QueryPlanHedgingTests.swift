import EspyCluster
import XCTest

/// Hedged sub-requests: the first complete answer for a partition wins, nothing is counted twice,
/// and a straggler does not hold the query open once its partitions are answered.
final class QueryPlanHedgingTests: XCTestCase {
    private let view = ClusterFixtures.sixNodes()
    private lazy var map = PartitionMap(view: view)

    private func plan() -> QueryPlan {
        QueryPlan(partitions: Array(0..<map.partitionCount), map: map, view: view, selfName: "a1", routable: view.routableMembers)
    }

    private func initial(_ plan: QueryPlan, to node: MemberName) -> QueryPlan.SubRequest {
        plan.initialSubRequests.first { $0.node == node }!
    }

    func testAHedge_asksTheNextReplicaOfEveryPartition_inOtherDatacenters() {
        var plan = plan()
        let straggler = initial(plan, to: "a2")
        let hedges = plan.hedge(straggler.id)
        XCTAssertFalse(hedges.isEmpty)
        XCTAssertEqual(hedges.flatMap(\.partitions).sorted(), straggler.partitions, "every partition asked again")
        XCTAssertTrue(hedges.allSatisfy { !$0.node.rawValue.hasPrefix("a") }, "the other replicas live in dc-b and dc-c")
        XCTAssertEqual(plan.hedge(straggler.id), [], "hedged once")
        XCTAssertEqual(plan.hedge(hedges[0].id), [], "hedges are not hedged")
    }

    func testHedgesWin_theStragglerIsDiscarded_andDoesNotHoldTheQueryOpen() {
        var plan = plan()
        let own = initial(plan, to: "a1")
        let straggler = initial(plan, to: "a2")
        let hedges = plan.hedge(straggler.id)
        XCTAssertEqual(plan.onAnswer(of: own.id), .merge)
        for hedge in hedges { XCTAssertEqual(plan.onAnswer(of: hedge.id), .merge) }
        XCTAssertTrue(plan.isFinished, "the straggler's partitions are all answered")
        XCTAssertEqual(plan.onAnswer(of: straggler.id), .discard, "its late answer would count them twice")
        XCTAssertEqual(plan.coverage.partitionsAnswered, map.partitionCount)
        XCTAssertEqual(plan.takeResend(), [])
    }

    func testTheStragglerWins_theHedgesAreDiscarded() {
        var plan = plan()
        let own = initial(plan, to: "a1")
        let straggler = initial(plan, to: "a2")
        let hedges = plan.hedge(straggler.id)
        XCTAssertEqual(plan.onAnswer(of: straggler.id), .merge)
        XCTAssertEqual(plan.onAnswer(of: own.id), .merge)
        XCTAssertTrue(plan.isFinished)
        for hedge in hedges { XCTAssertEqual(plan.onAnswer(of: hedge.id), .discard) }
        XCTAssertEqual(plan.coverage.partitionsAnswered, map.partitionCount)
    }

    func testOneHedgeWins_andAnotherFails_itsPartitionsGoToTheirLastReplica() throws {
        var plan = plan()
        let own = initial(plan, to: "a1")
        let straggler = initial(plan, to: "a2")
        let hedges = plan.hedge(straggler.id)
        XCTAssertGreaterThanOrEqual(hedges.count, 2, "a2's partitions have their next replicas on several nodes")
        XCTAssertEqual(plan.onAnswer(of: own.id), .merge)
        // The failed hedge's partitions are still covered by the straggler: nothing new yet.
        XCTAssertEqual(plan.replan(afterFailureOf: hedges[1].node), [])
        XCTAssertEqual(plan.onAnswer(of: hedges[0].id), .merge)
        // The straggler overlapped the winner and is given up; what only it still covered moves on.
        let resent = plan.takeResend()
        let orphaned = Set(hedges[1].partitions).subtracting(hedges[0].partitions)
        XCTAssertEqual(Set(resent.flatMap(\.partitions)), orphaned)
        XCTAssertTrue(resent.allSatisfy { $0.node != "a2" && $0.node != hedges[1].node })
        XCTAssertEqual(plan.onAnswer(of: straggler.id), .discard)
        for request in resent + hedges.dropFirst(2) { XCTAssertEqual(plan.onAnswer(of: request.id), .merge) }
        XCTAssertTrue(plan.isFinished)
        XCTAssertEqual(plan.coverage.partitionsAnswered, map.partitionCount)
        XCTAssertEqual(plan.missingPartitions, [])
    }

    func testTheStragglerFails_whileHedged_nothingIsAskedAThirdTime() {
        var plan = plan()
        let straggler = initial(plan, to: "a2")
        let hedges = plan.hedge(straggler.id)
        XCTAssertEqual(plan.replan(afterFailureOf: "a2"), [], "the hedges already cover its partitions")
        for hedge in hedges { XCTAssertEqual(plan.onAnswer(of: hedge.id), .merge) }
        XCTAssertEqual(plan.onAnswer(of: initial(plan, to: "a1").id), .merge)
        XCTAssertTrue(plan.isFinished)
        XCTAssertEqual(plan.coverage.nodesFailed, ["a2"])
    }

    func testFanOut_isWhatTheHedgeSends() {
        var plan = plan()
        let straggler = initial(plan, to: "a2")
        let fanOut = plan.hedgeFanOut(straggler.id)
        XCTAssertEqual(fanOut, plan.hedge(straggler.id).count)
        XCTAssertNil(plan.hedgeFanOut(straggler.id), "already hedged")
    }

    func testBudget_hedgesAtMostItsShareOfSubRequests() {
        var timing = HedgeTiming(budgetFraction: 0.05, budgetCapacity: 200)
        XCTAssertFalse(timing.spend(1), "nothing earned yet")
        timing.sent(67)
        XCTAssertTrue(timing.spend(3))
        XCTAssertFalse(timing.spend(1), "3.35 earned, 3 spent")
        for _ in 0..<10_000 { timing.sent(67) }
        XCTAssertTrue(timing.spend(200))
        XCTAssertFalse(timing.spend(1), "a quiet spell buys no more than the capacity")
    }

    func testAHedgeThatScansWhatTheStragglerReadsFromRollups_isChargedItsCost() {
        var timing = HedgeTiming(budgetFraction: 0.05, budgetCapacity: 200)
        for _ in 0..<100 { timing.sent(10) }
        XCTAssertFalse(timing.spend(2, costing: HedgeTiming.scanningHedgeCost), "50 earned: not two scanning hedges")
        XCTAssertTrue(timing.spend(1, costing: HedgeTiming.scanningHedgeCost))
        XCTAssertFalse(timing.spend(1), "the scan took everything earned")
    }

    func testTiming_hedgesAfterSmoothedLatencyPlusFourDeviations_withAFloor() {
        var timing = HedgeTiming(minimumMilliseconds: 5, initialMilliseconds: 50)
        XCTAssertEqual(timing.hedgeAfterMilliseconds("b1"), 50, "unmeasured peer")
        for _ in 0..<50 { timing.observe("b1", milliseconds: 2) }
        XCTAssertEqual(timing.hedgeAfterMilliseconds("b1"), 5, accuracy: 0.01, "steady 2 ms: the floor")
        for sample in [10.0, 30, 10, 30, 10, 30, 10, 30] { timing.observe("c1", milliseconds: sample) }
        let jittery = timing.hedgeAfterMilliseconds("c1")
        XCTAssertGreaterThan(jittery, 30, "a jittery peer is given more than its usual worst")
        XCTAssertLessThan(jittery, 120)
    }
}
