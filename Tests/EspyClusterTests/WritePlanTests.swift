import EspyCluster
import XCTest

final class WritePlanTests: XCTestCase {
    private let view = ClusterFixtures.sixNodes()
    private lazy var map = PartitionMap(view: view)

    func testEveryRecordGoesToEachOfItsReplicas_oneGroupPerNode() {
        let partitions = [3, 17, 3, 40, 17, 63]
        let plan = WritePlan(recordPartitions: partitions, map: map, routable: view.routableMembers)
        var destinations = [Set<MemberName>](repeating: [], count: partitions.count)
        for group in plan.groups {
            XCTAssertEqual(group.recordIndices, group.recordIndices.sorted())
            for index in group.recordIndices { XCTAssertTrue(destinations[index].insert(group.node).inserted) }
        }
        for (index, partition) in partitions.enumerated() {
            XCTAssertEqual(destinations[index], Set(map.replicas(of: partition)), "record \(index)")
        }
        XCTAssertEqual(plan.groups.map(\.node), plan.groups.map(\.node).sorted())
        XCTAssertEqual(Set(plan.targets.keys), [3, 17, 40, 63])
        XCTAssertEqual(plan.targets[3]?.required, 2)
    }

    func testUnroutableReplicas_getNothingAndAreListed() {
        let down = map.replicas(of: 5)[1]
        var routable = view.routableMembers
        routable.remove(down)
        let plan = WritePlan(recordPartitions: [5], map: map, routable: routable)
        XCTAssertEqual(plan.groups.map(\.node).sorted(), map.replicas(of: 5).filter { $0 != down }.sorted())
        XCTAssertEqual(plan.targets[5]?.unreachable, [down])
    }
}

final class WriteTrackerTests: XCTestCase {
    private let view = ClusterFixtures.sixNodes()
    private lazy var map = PartitionMap(view: view)

    private func tracker(_ partitions: [Int], quorum: WriteQuorum = .majority, down: [MemberName] = []) -> WriteTracker {
        WriteTracker(plan: WritePlan(recordPartitions: partitions, map: map,
                                     routable: view.routableMembers.subtracting(down), quorum: quorum))
    }

    private func respondedResult(_ action: WriteTracker.Action, file: StaticString = #filePath, line: UInt = #line) -> WriteResult? {
        guard case let .respond(result) = action else {
            XCTFail("expected a response, got \(action)", file: file, line: line)
            return nil
        }
        return result
    }

    func testAllReplicasCommit_acknowledges() {
        let replicas = map.replicas(of: 9)
        var tracker = tracker([9, 9])
        XCTAssertEqual(tracker.onGroupResult(from: replicas[0], .committed), .keepWaiting)
        let result = respondedResult(tracker.onGroupResult(from: replicas[1], .committed))
        XCTAssertEqual(result?.allAcknowledged, true)
        XCTAssertEqual(result?.outcomes.count, 2)
        XCTAssertEqual(result?.outcomes[0].committed, Array(replicas[0...1]))
        XCTAssertEqual(result?.outcomes[0].unanswered, [replicas[2]])
        XCTAssertEqual(tracker.onGroupResult(from: replicas[2], .committed), .alreadyResponded)
    }

    func testTheCoordinatorsOwnReplica_isAwaitedEvenOnceTheQuorumIsReached() {
        let replicas = map.replicas(of: 9)
        var tracker = WriteTracker(plan: WritePlan(recordPartitions: [9], map: map, routable: view.routableMembers),
                                   awaiting: replicas[2])
        XCTAssertEqual(tracker.onGroupResult(from: replicas[0], .committed), .keepWaiting)
        XCTAssertEqual(tracker.onGroupResult(from: replicas[1], .committed), .keepWaiting, "answered before the coordinator's own write")
        let result = respondedResult(tracker.onGroupResult(from: replicas[2], .failed))
        XCTAssertEqual(result?.allAcknowledged, true)
        XCTAssertEqual(result?.outcomes[0].failed, [replicas[2]])
    }

    func testThePartitionsFirstReplicaDecidesWhatIsNew_soAQuorumWithoutItWaitsForIt_unlessItFails() {
        let replicas = map.replicas(of: 9)
        var waiting = tracker([9])
        XCTAssertEqual(waiting.onGroupResult(from: replicas[2], .committed), .keepWaiting)
        XCTAssertEqual(waiting.onGroupResult(from: replicas[1], .committed), .keepWaiting, "answered before the counting replica")
        XCTAssertEqual(respondedResult(waiting.onGroupResult(from: replicas[0], .committed))?.outcomes[0].committed, replicas)

        var failing = tracker([9])
        XCTAssertEqual(failing.onGroupResult(from: replicas[2], .committed), .keepWaiting)
        XCTAssertEqual(failing.onGroupResult(from: replicas[1], .committed), .keepWaiting)
        let result = respondedResult(failing.onGroupResult(from: replicas[0], .failed))
        XCTAssertEqual(result?.outcomes[0].verdict, .acknowledged)
        XCTAssertEqual(result?.outcomes[0].committed.first, replicas[1], "the next replica in order decides")
    }

    func testACoordinatorThatIsNoReplica_awaitsNothing() {
        let replicas = map.replicas(of: 9)
        let outsider = view.routableMembers.first { !replicas.contains($0) }!
        var tracker = WriteTracker(plan: WritePlan(recordPartitions: [9], map: map, routable: view.routableMembers),
                                   awaiting: outsider)
        XCTAssertEqual(tracker.onGroupResult(from: replicas[0], .committed), .keepWaiting)
        XCTAssertEqual(respondedResult(tracker.onGroupResult(from: replicas[1], .committed))?.allAcknowledged, true)
    }

    func testOneReplicaDown_majorityStillAcknowledges() {
        let replicas = map.replicas(of: 9)
        var tracker = tracker([9], down: [replicas[0]])
        XCTAssertNil(tracker.result)
        XCTAssertEqual(tracker.onGroupResult(from: replicas[1], .committed), .keepWaiting)
        let result = respondedResult(tracker.onGroupResult(from: replicas[2], .committed))
        XCTAssertEqual(result?.outcomes[0].verdict, .acknowledged)
        XCTAssertEqual(result?.outcomes[0].failed, [replicas[0]])
    }

    func testOneReplicaFailsItsAnswer_majorityStillAcknowledges() {
        let replicas = map.replicas(of: 9)
        var tracker = tracker([9])
        XCTAssertEqual(tracker.onGroupResult(from: replicas[2], .failed), .keepWaiting)
        XCTAssertEqual(tracker.onGroupResult(from: replicas[0], .committed), .keepWaiting)
        XCTAssertEqual(respondedResult(tracker.onGroupResult(from: replicas[1], .committed))?.allAcknowledged, true)
    }

    func testTwoOfThreeDown_failsQuorumAtOnce_withoutSending() {
        let replicas = map.replicas(of: 9)
        let tracker = tracker([9], down: [replicas[0], replicas[2]])
        XCTAssertEqual(tracker.result?.failedRecordIndices, [0])
        XCTAssertEqual(tracker.result?.outcomes[0].verdict, .failedQuorum)
        XCTAssertEqual(tracker.result?.outcomes[0].failed, [replicas[0], replicas[2]])
    }

    func testTwoOfThreeFailTheirAnswers_failsQuorum() {
        let replicas = map.replicas(of: 9)
        var tracker = tracker([9])
        XCTAssertEqual(tracker.onGroupResult(from: replicas[0], .committed), .keepWaiting)
        XCTAssertEqual(tracker.onGroupResult(from: replicas[1], .failed), .keepWaiting)
        let result = respondedResult(tracker.onGroupResult(from: replicas[2], .failed))
        XCTAssertEqual(result?.allAcknowledged, false)
        XCTAssertEqual(result?.outcomes[0].committed, [replicas[0]], "committed on one replica, yet not acknowledged")
    }

    func testQuorumAll_oneFailureFails_quorumOne_firstCommitAcknowledges() {
        let replicas = map.replicas(of: 9)
        var all = tracker([9], quorum: .all)
        XCTAssertEqual(all.onGroupResult(from: replicas[0], .committed), .keepWaiting)
        XCTAssertEqual(respondedResult(all.onGroupResult(from: replicas[1], .failed))?.outcomes[0].verdict, .failedQuorum)

        var one = tracker([9], quorum: .one)
        XCTAssertEqual(respondedResult(one.onGroupResult(from: replicas[2], .committed))?.outcomes[0].verdict, .acknowledged)
    }

    func testANodeFailure_failsOnlyRecordsThatLostTheirQuorum() {
        // Find two partitions sharing exactly one replica, fail that one and one of the first's others.
        let (p, q) = partitionsSharingOneReplica()
        let shared = Set(map.replicas(of: p)).intersection(map.replicas(of: q)).first!
        let otherOfP = map.replicas(of: p).first { $0 != shared }!
        var tracker = tracker([p, q, p])
        var action = WriteTracker.Action.keepWaiting
        for node in Set(map.replicas(of: p) + map.replicas(of: q)).sorted() {
            action = tracker.onGroupResult(from: node, node == shared || node == otherOfP ? .failed : .committed)
        }
        let result = respondedResult(action)
        XCTAssertEqual(result?.failedRecordIndices, [0, 2])
        XCTAssertEqual(result?.outcomes[1].verdict, .acknowledged)
    }

    func testDuplicateAndUnknownAnswers_changeNothing() {
        let replicas = map.replicas(of: 9)
        let outsider = view.members.map(\.name).first { !replicas.contains($0) }!
        var tracker = tracker([9])
        XCTAssertEqual(tracker.onGroupResult(from: replicas[0], .failed), .keepWaiting)
        XCTAssertEqual(tracker.onGroupResult(from: replicas[0], .committed), .keepWaiting, "first answer stands")
        XCTAssertEqual(tracker.onGroupResult(from: outsider, .committed), .keepWaiting)
        XCTAssertEqual(tracker.onGroupResult(from: replicas[1], .committed), .keepWaiting)
        XCTAssertEqual(respondedResult(tracker.onGroupResult(from: replicas[2], .committed))?.allAcknowledged, true)
    }

    func testEmptyBatch_isDecidedAtOnce() {
        XCTAssertEqual(tracker([]).result?.outcomes, [])
        XCTAssertEqual(tracker([]).result?.allAcknowledged, true)
    }

    private func partitionsSharingOneReplica() -> (Int, Int) {
        for p in 0..<map.partitionCount {
            for q in (p + 1)..<map.partitionCount
            where Set(map.replicas(of: p)).intersection(map.replicas(of: q)).count == 1 {
                return (p, q)
            }
        }
        fatalError("six nodes in three datacenters always have such a pair")
    }
}
