import EspyCluster
import EspyCore
import XCTest

/// Six nodes, one replica per datacenter: three replicas a partition, two of them a majority,
/// so any two replicas' digests together cover every acknowledged record.
final class ReadVerificationTests: XCTestCase {
    private let view = ClusterFixtures.sixNodes()
    private lazy var map = PartitionMap(view: view)

    private func plan(down: [MemberName] = []) -> QueryPlan {
        QueryPlan(partitions: Array(0..<map.partitionCount), map: map, view: view, selfName: "a1",
                  routable: view.routableMembers.subtracting(down), catchingUp: [])
    }

    private func verification(_ quorum: WriteQuorum = .majority, down: [MemberName] = []) -> ReadVerification {
        ReadVerification(plan: plan(down: down), quorum: quorum) { self.map.replicas(of: $0).count }
    }

    /// Every replica answers with `digest(partition, replica)` for what it was asked.
    private func answerAll(_ verification: inout ReadVerification, except silent: Set<MemberName> = [],
                           digest: (Int, MemberName) -> PartitionDigest) {
        for (node, partitions) in verification.digestRequests.sorted(by: { $0.key < $1.key }) {
            if silent.contains(node) { verification.digestsFailed(from: node); continue }
            var held: [Int: PartitionDigest] = [:]
            for partition in partitions { held[partition] = digest(partition, node) }
            verification.digestsArrived(held, from: node)
        }
    }

    private let full = PartitionDigest(count: 10, hash: 0xAAAA)
    private let short = PartitionDigest(count: 9, hash: 0xBBBB)

    func testEveryReadableReplicaIsAskedForTheDigestsOfItsPartitions_once() {
        let verification = verification()
        for partition in 0..<map.partitionCount {
            let askedOf = verification.digestRequests.filter { $0.value.contains(partition) }.keys
            XCTAssertEqual(Set(askedOf), Set(map.replicas(of: partition)), "partition \(partition)")
        }
        XCTAssertFalse(verification.isDecided)
    }

    func testReplicasThatAgree_areAllReadable_andNothingIsRepaired() {
        var verification = verification()
        answerAll(&verification) { _, _ in self.full }
        XCTAssertTrue(verification.isFinished)
        XCTAssertEqual(verification.excluded, [])
        XCTAssertEqual(verification.repairs, [:])
        XCTAssertEqual(verification.repairedPartitions, 0)
        XCTAssertEqual(verification.unverifiablePartitions, 0)
    }

    func testAReplicaBehind_isNotRead_andTheOneHoldingMostPullsFromIt() {
        var verification = verification()
        let behind: MemberName = "b1"
        answerAll(&verification) { _, node in node == behind ? self.short : self.full }
        XCTAssertTrue(verification.isDecided)
        XCTAssertFalse(verification.isFinished, "repairs are outstanding")
        let behindPartitions = map.partitions(ownedBy: behind)
        XCTAssertEqual(verification.repairedPartitions, behindPartitions.count)
        XCTAssertNil(verification.repairs[behind], "the short replica is never the one read")
        let pulls = verification.repairs.values.flatMap { $0 }
        XCTAssertEqual(pulls.map(\.partition).sorted(), behindPartitions)
        XCTAssertTrue(pulls.allSatisfy { $0.member == behind })
        for (target, repairs) in verification.repairs {
            for repair in repairs {
                XCTAssertTrue(map.replicas(of: repair.partition).contains(target))
                for replica in map.replicas(of: repair.partition) where replica != target {
                    XCTAssertTrue(verification.excluded.contains(PartitionReplica(partition: repair.partition, member: replica)),
                                  "partition \(repair.partition): only the repaired replica may be read")
                }
            }
        }
        for target in verification.repairs.keys { verification.repairEnded(at: target, succeeded: true) }
        XCTAssertTrue(verification.isFinished)
        XCTAssertEqual(verification.unverifiablePartitions, 0)
    }

    func testReplicasHoldingDifferentRecords_theFullestPullsFromEveryOneThatDiffers() {
        var verification = verification()
        let partition = map.partitions(ownedBy: "a1")[0]
        let replicas = map.replicas(of: partition)
        let digests = [replicas[0]: PartitionDigest(count: 4, hash: 1), replicas[1]: PartitionDigest(count: 5, hash: 2),
                       replicas[2]: PartitionDigest(count: 3, hash: 3)]
        answerAll(&verification) { p, node in p == partition ? digests[node]! : self.full }
        XCTAssertEqual(verification.repairs[replicas[1]]?.filter { $0.partition == partition }.map(\.member).sorted(),
                       [replicas[0], replicas[2]].sorted())
    }

    func testAFailedRepair_leavesThePartitionWithNoReplicaToRead() {
        var verification = verification()
        answerAll(&verification) { _, node in node == "c2" ? self.short : self.full }
        let target = verification.repairs.keys.sorted()[0]
        let failed = Set(verification.repairs[target]!.map(\.partition))
        for other in verification.repairs.keys where other != target { verification.repairEnded(at: other, succeeded: true) }
        verification.repairEnded(at: target, succeeded: false)
        XCTAssertTrue(verification.isFinished)
        XCTAssertEqual(verification.unverifiablePartitions, failed.count)
        XCTAssertEqual(verification.repairedPartitions, map.partitions(ownedBy: "c2").count - failed.count)
        for partition in failed {
            for replica in map.replicas(of: partition) {
                XCTAssertTrue(verification.excluded.contains(PartitionReplica(partition: partition, member: replica)))
            }
        }
    }

    func testOneReplicaSilent_theOtherTwoSuffice_andTheSilentOneIsNotRead() {
        var verification = verification()
        answerAll(&verification, except: ["a2"]) { _, _ in self.full }
        XCTAssertTrue(verification.isFinished)
        XCTAssertEqual(verification.unverifiablePartitions, 0)
        XCTAssertEqual(verification.excluded, Set(map.partitions(ownedBy: "a2").map { PartitionReplica(partition: $0, member: "a2") }))
    }

    func testTwoReplicasSilent_oneAnswerCannotProveAnything_soThePartitionIsReadNowhere() {
        var verification = verification()
        answerAll(&verification, except: ["a2", "b1"]) { _, _ in self.full }
        let both = Set(map.partitions(ownedBy: "a2")).intersection(map.partitions(ownedBy: "b1"))
        XCTAssertFalse(both.isEmpty, "the fixture has partitions on both")
        XCTAssertEqual(verification.unverifiablePartitions, both.count)
        for partition in both {
            XCTAssertEqual(Set(map.replicas(of: partition).map { PartitionReplica(partition: partition, member: $0) })
                .subtracting(verification.excluded), [])
        }
    }

    func testADownReplicaIsNotAsked_andTheTwoLeftMustAgree() {
        var verification = verification(down: ["c1"])
        XCTAssertNil(verification.digestRequests["c1"])
        answerAll(&verification) { _, _ in self.full }
        XCTAssertTrue(verification.isFinished)
        XCTAssertEqual(verification.unverifiablePartitions, 0)
    }

    func testWithAQuorumOfAll_everyReplicaHoldsEverything_soNothingIsAsked() {
        let verification = verification(.all)
        XCTAssertEqual(verification.digestRequests, [:])
        XCTAssertTrue(verification.isFinished)
        XCTAssertEqual(verification.excluded, [])
    }

    func testWithAQuorumOfOne_everyReplicaMustAnswer() {
        var verification = verification(.one)
        answerAll(&verification, except: ["b2"]) { _, _ in self.full }
        XCTAssertEqual(verification.unverifiablePartitions, map.partitions(ownedBy: "b2").count)
    }

    func testLateOrRepeatedAnswersChangeNothing() {
        var verification = verification()
        answerAll(&verification) { _, _ in self.full }
        verification.digestsArrived([0: short], from: "a1")
        verification.digestsFailed(from: "b1")
        verification.repairEnded(at: "a1", succeeded: false)
        XCTAssertEqual(verification.excluded, [])
        XCTAssertEqual(verification.unverifiablePartitions, 0)
    }

    func testThePlanBuiltFromTheExclusions_readsOnlyVerifiedReplicas() {
        var verification = verification()
        answerAll(&verification) { _, node in node == "a1" ? self.short : self.full }
        for target in verification.repairs.keys { verification.repairEnded(at: target, succeeded: true) }
        let verified = QueryPlan(partitions: Array(0..<map.partitionCount), map: map, view: view, selfName: "a1",
                                 routable: view.routableMembers, catchingUp: verification.excluded)
        for request in verified.initialSubRequests {
            XCTAssertNotEqual(request.node, "a1", "a1 is behind on every partition it holds")
        }
        XCTAssertEqual(Set(verified.initialSubRequests.flatMap(\.partitions)).count, map.partitionCount)
    }
}
