import EspyCluster
import XCTest

final class QueryPlanTests: XCTestCase {
    private let view = ClusterFixtures.sixNodes()
    private lazy var map = PartitionMap(view: view)
    private var all: [Int] { Array(0..<map.partitionCount) }

    private func plan(from selfName: MemberName = "a1", down: [MemberName] = [], catchingUp: Set<PartitionReplica> = [],
                      maxAttempts: Int? = nil) -> QueryPlan {
        QueryPlan(partitions: all, map: map, view: view, selfName: selfName,
                  routable: view.routableMembers.subtracting(down), catchingUp: catchingUp,
                  maxAttemptsPerPartition: maxAttempts)
    }

    /// The dc-b or dc-c replica a dc-a node falls back to: the higher rendezvous weight.
    private func remoteChoice(for partition: Int, excluding: Set<MemberName> = []) -> MemberName {
        map.replicas(of: partition).filter { !$0.rawValue.hasPrefix("a") && !excluding.contains($0) }
            .max { PartitionMap.weight(of: $0, partition: partition) < PartitionMap.weight(of: $1, partition: partition) }!
    }

    private func assignment(_ requests: [QueryPlan.SubRequest]) -> [Int: MemberName] {
        var owner: [Int: MemberName] = [:]
        for request in requests {
            for partition in request.partitions { XCTAssertNil(owner.updateValue(request.node, forKey: partition), "partition \(partition) twice") }
        }
        return owner
    }

    func testANodeThatRefusesTheRequest_isReportedAsRefusing_notFailed_andItsPartitionsMoveOn() {
        var plan = plan()
        let refused = plan.initialSubRequests.first { $0.node != "a1" }!
        let moved = plan.replan(afterRefusalBy: refused.node)
        XCTAssertEqual(Set(assignment(moved).keys), Set(refused.partitions))
        XCTAssertFalse(moved.contains { $0.node == refused.node }, "asked again in the same query")
        for request in moved { _ = plan.replan(afterRefusalBy: request.node) }
        for request in plan.pendingSubRequests { XCTAssertEqual(plan.onAnswer(of: request.id), .merge) }
        XCTAssertTrue(plan.isFinished)
        XCTAssertEqual(plan.coverage.nodesFailed, [])
        XCTAssertEqual(plan.coverage.nodesRefused, ([refused.node] + moved.map(\.node)).sorted())
        XCTAssertTrue(plan.coverage.nodesUnavailable.allSatisfy { !plan.coverage.nodesRefused.contains($0) })
        XCTAssertEqual(plan.onAnswer(of: refused.id), .discard)
    }

    func testPrefersSelf_thenItsOwnDatacenter() {
        let plan = plan()
        XCTAssertEqual(plan.initialSubRequests.map(\.node), ["a1", "a2"])
        XCTAssertEqual(plan.initialSubRequests[0].partitions, map.partitions(ownedBy: "a1"))
        XCTAssertEqual(plan.initialSubRequests[1].partitions, map.partitions(ownedBy: "a2"))
        XCTAssertEqual(assignment(plan.initialSubRequests).count, map.partitionCount)
        XCTAssertEqual(plan.missingPartitions, all, "nothing answered yet")
    }

    func testOwnDatacenterReplicaDown_fallsBackToOtherDatacenters_spreadByWeight() {
        let plan = plan(down: ["a2"])
        let owner = assignment(plan.initialSubRequests)
        for partition in map.partitions(ownedBy: "a2") {
            XCTAssertEqual(owner[partition], remoteChoice(for: partition), "partition \(partition)")
        }
        let fallbackDatacenters = Set(map.partitions(ownedBy: "a2").map { owner[$0]!.rawValue.prefix(1) })
        XCTAssertEqual(fallbackDatacenters, ["b", "c"], "both other datacenters share the load")
    }

    func testSelfIsReadEvenWhenOthersSeeItAsSuspect() {
        let plan = plan(down: ["a1"])
        XCTAssertEqual(plan.initialSubRequests.first?.node, "a1")
    }

    func testCatchingUpReplica_isNotRead() {
        let partition = map.partitions(ownedBy: "a1")[0]
        let plan = plan(catchingUp: [PartitionReplica(partition: partition, member: "a1")])
        XCTAssertEqual(assignment(plan.initialSubRequests)[partition], remoteChoice(for: partition))
    }

    func testAnswers_areMergedOnce() {
        var plan = plan()
        let first = plan.initialSubRequests[0]
        XCTAssertEqual(plan.onAnswer(of: first.id), .merge)
        XCTAssertEqual(plan.onAnswer(of: first.id), .discard, "a duplicate would double-count")
        XCTAssertEqual(plan.onAnswer(of: 999), .discard)
        XCTAssertFalse(plan.isFinished)
        XCTAssertEqual(plan.onAnswer(of: plan.initialSubRequests[1].id), .merge)
        XCTAssertTrue(plan.isFinished)
        XCTAssertEqual(plan.coverage, Coverage(partitionsTotal: 64, partitionsAnswered: 64, missingPartitions: [],
                                               nodesQueried: 2, nodesAnswered: 2, nodesFailed: []))
    }

    func testReplan_movesTheFailedNodesPartitionsOnce_andDiscardsItsLateAnswer() {
        var plan = plan(maxAttempts: 2)
        let failed = plan.initialSubRequests[1]
        XCTAssertEqual(failed.node, "a2")
        let moved = plan.replan(afterFailureOf: "a2")
        let owner = assignment(moved)
        XCTAssertEqual(Set(owner.keys), Set(failed.partitions))
        for partition in failed.partitions { XCTAssertEqual(owner[partition], remoteChoice(for: partition)) }
        XCTAssertEqual(plan.onAnswer(of: failed.id), .discard, "its partitions belong to the new requests now")
        XCTAssertTrue(Set(moved.map(\.id)).isDisjoint(with: plan.initialSubRequests.map(\.id)))

        // The second try fails too: capped at two attempts per partition, they are missing.
        let secondNode = moved[0].node
        XCTAssertEqual(plan.replan(afterFailureOf: secondNode), [])
        for request in moved.dropFirst() { XCTAssertEqual(plan.onAnswer(of: request.id), .merge) }
        XCTAssertEqual(plan.onAnswer(of: plan.initialSubRequests[0].id), .merge)
        XCTAssertTrue(plan.isFinished)
        XCTAssertEqual(plan.missingPartitions, moved[0].partitions)
        XCTAssertEqual(plan.coverage.nodesFailed, ["a2", secondNode])
        XCTAssertEqual(plan.coverage.nodesQueried, 2 + moved.count)
        XCTAssertEqual(plan.coverage.partitionsAnswered, 64 - moved[0].partitions.count)
    }

    func testReplan_walksEveryReplicaByDefault_neverReturningToATriedOrFailedNode() {
        var plan = plan()
        _ = plan.replan(afterFailureOf: "a2")
        let partition = map.partitions(ownedBy: "a2")[0]
        let second = remoteChoice(for: partition)
        let third = remoteChoice(for: partition, excluding: [second])
        let moved = assignment(plan.replan(afterFailureOf: second))
        XCTAssertEqual(moved[partition], third)
        XCTAssertFalse(moved.values.contains("a2"))
        XCTAssertFalse(moved.values.contains(second))
        XCTAssertEqual(plan.replan(afterFailureOf: third).flatMap(\.partitions).filter { $0 == partition }, [])
    }

    func testANodeCanHoldAFirstAndAReplannedRequest_answeredSeparately() {
        var plan = plan(down: ["a2"])
        let remoteFirst = plan.initialSubRequests.filter { $0.node != "a1" }
        let moved = plan.replan(afterFailureOf: "a1")
        let twice = Set(remoteFirst.map(\.node)).intersection(moved.map(\.node))
        XCTAssertFalse(twice.isEmpty, "some remote node now holds two requests")
        XCTAssertEqual(Set(plan.pendingSubRequests.map(\.id)), Set(remoteFirst.map(\.id) + moved.map(\.id)))
        for request in remoteFirst + moved { XCTAssertEqual(plan.onAnswer(of: request.id), .merge) }
        XCTAssertTrue(plan.isFinished)
        XCTAssertEqual(plan.coverage, Coverage(partitionsTotal: 64, partitionsAnswered: 64, missingPartitions: [],
                                               nodesQueried: 5, nodesAnswered: 4, nodesFailed: ["a1"]))
    }

    func testNoReadableReplica_isMissingFromTheStart() {
        let partition = map.partitions(ownedBy: "a2")[0]
        let replicas = map.replicas(of: partition)
        let plan = plan(down: replicas)
        XCTAssertFalse(plan.initialSubRequests.flatMap(\.partitions).contains(partition))
        var finished = plan
        for request in plan.initialSubRequests { _ = finished.onAnswer(of: request.id) }
        XCTAssertTrue(finished.missingPartitions.contains(partition))
        XCTAssertTrue(finished.coverage.isPartial)
    }

    func testPlanIsDeterministic() {
        let big = ClusterFixtures.view(ClusterFixtures.nodes(200))
        let bigMap = PartitionMap(view: big)
        let first = QueryPlan(partitions: Array(0..<4096), map: bigMap, view: big, selfName: "node-007", routable: big.routableMembers)
        let second = QueryPlan(partitions: Array((0..<4096).reversed()), map: bigMap, view: big, selfName: "node-007",
                               routable: big.routableMembers)
        XCTAssertEqual(first.initialSubRequests, second.initialSubRequests)
        XCTAssertEqual(first.initialSubRequests.reduce(0) { $0 + $1.partitions.count }, 4096)
        XCTAssertEqual(first.initialSubRequests.first { $0.node == "node-007" }?.partitions, bigMap.partitions(ownedBy: "node-007"))
    }
}

extension QueryPlanTests {
    func testDeclinedPartitions_moveToTheNextReplica_andTheRestOfTheAnswerCounts() {
        var plan = plan()
        let first = plan.initialSubRequests[0]
        XCTAssertEqual(first.node, "a1")
        let declined = Array(first.partitions.prefix(3))
        let moved = plan.decline(declined, in: first.id)
        XCTAssertEqual(assignment(moved).keys.sorted(), declined)
        for partition in declined { XCTAssertEqual(assignment(moved)[partition], remoteChoice(for: partition)) }
        XCTAssertEqual(plan.onAnswer(of: first.id), .merge)
        XCTAssertEqual(Set(plan.missingPartitions).intersection(first.partitions), Set(declined),
                       "a1's answer covers only what it did not decline")
        for request in plan.pendingSubRequests { XCTAssertEqual(plan.onAnswer(of: request.id), .merge) }
        XCTAssertTrue(plan.isFinished)
        XCTAssertEqual(plan.missingPartitions, [])
        XCTAssertFalse(plan.coverage.isPartial)
    }

    func testAPartitionDeclinedByEveryReplica_isMissing() {
        var plan = plan()
        let partition = plan.initialSubRequests[0].partitions[0]
        var request = plan.initialSubRequests[0]
        for _ in 0..<3 {
            let next = plan.decline([partition], in: request.id)
            _ = plan.onAnswer(of: request.id)
            guard let moved = next.first else { break }
            request = moved
        }
        for pending in plan.pendingSubRequests { _ = plan.onAnswer(of: pending.id) }
        XCTAssertTrue(plan.isFinished)
        XCTAssertEqual(plan.missingPartitions, [partition], "never silently counted as empty")
    }
}
