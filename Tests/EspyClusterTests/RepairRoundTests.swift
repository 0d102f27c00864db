import EspyCluster
import EspyCore
import XCTest

/// The anti-entropy round without I/O: what it compares, what it reconciles, when a catching-up
/// partition becomes readable and when a handed-off one may be dropped.
final class RepairRoundTests: XCTestCase {
    private let view = ClusterFixtures.sixNodes()
    private lazy var map = PartitionMap(view: view)
    private var everyone: Set<MemberName> { view.routableMembers }

    private func digest(_ count: Int, _ hash: UInt64) -> PartitionDigest { PartitionDigest(count: count, hash: hash) }

    func testComparesEachOwnedPartitionWithEveryOtherLiveOwner() {
        let round = RepairRound(map: map, selfName: "a1", routable: everyone, held: [])
        let owned = map.partitions(ownedBy: "a1")
        for (peer, partitions) in round.comparisons {
            XCTAssertFalse(peer.rawValue.hasPrefix("a"), "a1's partitions have no other replica in dc-a")
            for partition in partitions { XCTAssertTrue(map.replicas(of: partition).contains(peer)) }
        }
        let compared = round.comparisons.values.reduce(0) { $0 + $1.count }
        XCTAssertEqual(compared, owned.count * 2, "each owned partition is compared with its dc-b and dc-c replicas")
    }

    func testEqualDigestsConfirmAtOnce_differingOnesArePulled() {
        var round = RepairRound(map: map, selfName: "a1", routable: everyone, held: [])
        var local: [Int: PartitionDigest] = [:]
        var tasks: [RepairRound.Task] = []
        for (peer, partitions) in round.comparisons.sorted(by: { $0.key < $1.key }) {
            var remote: [Int: PartitionDigest] = [:]
            for partition in partitions {
                local[partition] = digest(10, UInt64(partition))
                remote[partition] = partition == partitions[0] ? digest(9, 1) : digest(10, UInt64(partition))
            }
            tasks += round.onDigests(from: peer, remote: remote, local: local)
        }
        XCTAssertEqual(tasks.count, round.comparisons.count, "one differing partition per peer")
        XCTAssertTrue(tasks.allSatisfy { $0.direction == .pull }, "each owner pulls what it lacks; the peer does the same")
        XCTAssertFalse(round.isFinished)
        let owned = Set(map.partitions(ownedBy: "a1"))
        let unsettled = Set(tasks.map(\.partition))
        XCTAssertEqual(round.synced(among: owned), owned.subtracting(unsettled))
        for task in tasks { round.onTaskFinished(task, succeeded: true) }
        XCTAssertTrue(round.isFinished)
        XCTAssertEqual(round.synced(among: owned), owned)
    }

    func testAFailedReconciliationOrSilentPeer_keepsThePartitionCatchingUp() {
        var round = RepairRound(map: map, selfName: "a1", routable: everyone, held: [])
        let peers = round.comparisons.keys.sorted()
        let silent = peers[0]
        round.onDigestsFailed(from: silent)
        var failed: RepairRound.Task?
        for peer in peers.dropFirst() {
            let partitions = round.comparisons[peer]!
            let tasks = round.onDigests(from: peer, remote: [partitions[0]: digest(1, 1)], local: [:])
            XCTAssertEqual(tasks.count, 1, "only the partition the peer holds differs from our empty copy")
            failed = failed ?? tasks[0]
            for task in tasks { round.onTaskFinished(task, succeeded: task != failed) }
        }
        XCTAssertTrue(round.isFinished)
        let owned = Set(map.partitions(ownedBy: "a1"))
        let synced = round.synced(among: owned)
        XCTAssertFalse(synced.contains(failed!.partition))
        for partition in round.comparisons[silent]! { XCTAssertFalse(synced.contains(partition), "never compared with \(silent)") }
        XCTAssertFalse(synced.isEmpty)
    }

    func testPeersThatAreDown_areNotWaitedFor() {
        let owned = Set(map.partitions(ownedBy: "a1"))
        let round = RepairRound(map: map, selfName: "a1", routable: ["a1", "a2"], held: [])
        XCTAssertTrue(round.comparisons.isEmpty)
        XCTAssertTrue(round.isFinished)
        XCTAssertEqual(round.synced(among: owned), owned, "with every other replica down there is no one to catch up from")
    }

    func testHeldButNotOwned_isPushed_andDroppableOnceEveryOwnerConfirmed() {
        let moved = map.partitions(ownedBy: "a2")[0]
        var round = RepairRound(map: map, selfName: "a1", routable: everyone, held: [moved])
        XCTAssertEqual(round.handoffPending, 1)
        let owners = map.replicas(of: moved)
        XCTAssertEqual(round.comparisons.filter { $0.value.contains(moved) }.keys.sorted(), owners.sorted())
        var tasks: [RepairRound.Task] = []
        for (peer, partitions) in round.comparisons {
            let remote = Dictionary(uniqueKeysWithValues: partitions.map { ($0, digest(3, 3)) })
            var local = remote
            local[moved] = digest(4, 7)
            tasks += round.onDigests(from: peer, remote: remote, local: local)
        }
        XCTAssertEqual(Set(tasks.map(\.peer)), Set(owners))
        XCTAssertTrue(tasks.allSatisfy { $0.partition == moved && $0.direction == .push })
        XCTAssertEqual(round.droppable, [], "not before the owners confirmed")
        round.onTaskFinished(tasks[0], succeeded: true)
        XCTAssertEqual(round.droppable, [])
        for task in tasks.dropFirst() { round.onTaskFinished(task, succeeded: true) }
        XCTAssertEqual(round.droppable, [moved])
        XCTAssertFalse(round.synced(among: [moved]).contains(moved), "a partition not owned is never made readable")
    }

    func testHeldButNotOwned_isKeptWhileAnOwnerIsDown() {
        let moved = map.partitions(ownedBy: "a2")[0]
        let down = map.replicas(of: moved).first { $0.rawValue.hasPrefix("b") }!
        var round = RepairRound(map: map, selfName: "a1", routable: everyone.subtracting([down]), held: [moved])
        for (peer, partitions) in round.comparisons {
            let same = Dictionary(uniqueKeysWithValues: partitions.map { ($0, digest(2, 2)) })
            XCTAssertEqual(round.onDigests(from: peer, remote: same, local: same), [])
        }
        XCTAssertTrue(round.isFinished)
        XCTAssertEqual(round.droppable, [], "\(down) could not confirm; the data stays here")
    }

    func testLeavingNode_handsEverythingToTheOwnersOfTheMapWithoutIt() {
        var leavingView = view
        leavingView.update(ClusterFixtures.member("a1", "dc-a", ownership: .released))
        let successorMap = PartitionMap(view: leavingView)
        let held = Set(map.partitions(ownedBy: "a1"))
        var round = RepairRound(map: successorMap, selfName: "a1", routable: everyone, held: held)
        XCTAssertEqual(round.handoffPending, held.count)
        for (peer, partitions) in round.comparisons {
            let same = Dictionary(uniqueKeysWithValues: partitions.map { ($0, digest(5, 5)) })
            _ = round.onDigests(from: peer, remote: same, local: same)
        }
        XCTAssertEqual(Set(round.droppable), held, "a2 took over dc-a's copy; with every owner in agreement all may go")
    }
}
