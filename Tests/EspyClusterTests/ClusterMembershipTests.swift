import EspyCluster
import EspyCore
import XCTest

/// The membership reaction: one member at a time, routing at once, placement and repair
/// coalesced, and the partition-count policy.
final class ClusterMembershipTests: XCTestCase {
    private let start = Timestamp(microseconds: 1_000_000_000)

    private func at(_ milliseconds: Int64) -> Timestamp { Timestamp(microseconds: start.microseconds + milliseconds * 1_000) }

    private func membership(partitions: Int = 64) -> ClusterMembership {
        var settings = ClusterMembership.Settings(partitionCount: partitions,
                                                  ownershipRule: OwnershipRule(failureTimeout: .seconds(60)))
        settings.quiescentMicroseconds = 1_000_000
        settings.quantumMicroseconds = 5_000_000
        return ClusterMembership(selfName: "n1", datacenter: "dc1", address: "127.0.0.1:8001", settings: settings)
    }

    private func peer(_ name: String, _ status: MemberStatus = .alive, partitions: Int = 64, role: String = Member.dataRole,
                      datacenter: String = "dc2", since: Timestamp? = nil) -> ClusterMembership.Change {
        .reported(Member(name: name, gossipAddress: "127.0.0.9:7946",
                         tags: ["dc": datacenter, "http": "\(name).local:8888", "role": role, "partitions": String(partitions)],
                         status: status, incarnation: 1, since: since ?? start))
    }

    private func wake(in effects: [ClusterMembership.Effect]) -> Timestamp? {
        for case .wake(let at) in effects { return at }
        return nil
    }

    func test_firstPeer_isPlacedAtOnce_soANodeThatFoundItsClusterNeverWritesAlone() {
        var membership = membership()
        let effects = membership.apply(peer("n2"), now: at(0))
        XCTAssertTrue(effects.contains(.placementChanged), "\(effects)")
        XCTAssertTrue(effects.contains(.routingChanged))
        XCTAssertEqual(membership.view.owners.map(\.name), ["n1", "n2"])
        XCTAssertEqual(membership.routable, ["n1", "n2"])
    }

    func test_aBurstOfJoins_rebuildsPlacementOnce_afterItGoesQuiet() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        XCTAssertEqual(membership.placementRebuilds, 1)
        var lastWake: Timestamp?
        for index in 3...50 {
            let effects = membership.apply(peer("n\(index)"), now: at(Int64(index) * 10))
            XCTAssertFalse(effects.contains(.placementChanged), "joins inside the window are coalesced")
            XCTAssertTrue(effects.contains(.routingChanged), "routing takes effect at once")
            lastWake = wake(in: effects) ?? lastWake
        }
        XCTAssertEqual(membership.routable.count, 50)
        XCTAssertEqual(lastWake, at(500 + 1_000), "one quiet second after the last join")
        XCTAssertFalse(membership.tick(now: at(1_400)).contains(.placementChanged), "not quiet long enough yet")
        let flushed = membership.tick(now: lastWake!)
        XCTAssertEqual(flushed, [.placementChanged, .repairRound])
        XCTAssertEqual(membership.placementRebuilds, 2)
        XCTAssertEqual(membership.repairRequests, 2)
        XCTAssertEqual(membership.view.owners.count, 50)
    }

    func test_aWriteOrQuery_getsThePlacementABurstIsStillWaitingFor() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        _ = membership.apply(peer("n3"), now: at(50))
        XCTAssertEqual(membership.placementForRequest(now: at(60)), [], "placed 60 ms ago: fresh enough")
        XCTAssertEqual(membership.placementForRequest(now: at(150)), [.placementChanged])
        XCTAssertEqual(membership.placementForRequest(now: at(400)), [], "nothing pending any more")
        XCTAssertEqual(membership.tick(now: at(1_050)), [.repairRound], "the repair round still waits for the quiet")
        XCTAssertEqual(membership.placementRebuilds, 2)
    }

    func test_aSteadyTrickle_isFlushedByTheQuantum() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        var flushes = 0
        // A join every 500 ms for 20 s: never quiet for a second, so only the 5 s quantum flushes.
        for index in 0..<40 {
            let now = at(500 + Int64(index) * 500)
            flushes += membership.tick(now: now).filter { $0 == .placementChanged }.count
            flushes += membership.apply(peer("p\(index)"), now: now).filter { $0 == .placementChanged }.count
        }
        XCTAssertEqual(flushes, 3, "20 s of joins: one rebuild per 5 s quantum (the last still pending)")
    }

    func test_suspicionAndRecovery_changeRoutingNotPlacement() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        _ = membership.apply(peer("n3"), now: at(0))
        _ = membership.tick(now: at(2_000))
        XCTAssertEqual(membership.placementRebuilds, 2)
        let digest = membership.view.digest
        let generation = membership.routingGeneration

        let suspected = membership.apply(peer("n3", .suspect), now: at(3_000))
        XCTAssertTrue(suspected.contains(.routingChanged))
        XCTAssertFalse(membership.routable.contains("n3"), "reads skip a suspect")
        XCTAssertTrue(membership.writable.contains("n3"), "writes still try it")
        XCTAssertGreaterThan(membership.routingGeneration, generation)

        _ = membership.apply(peer("n3", .dead), now: at(4_000))
        XCTAssertFalse(membership.writable.contains("n3"))
        _ = membership.apply(peer("n3"), now: at(5_000))
        let effects = membership.tick(now: at(7_000))
        XCTAssertEqual(effects, [.repairRound], "a flap asks for a repair round but moves no partition")
        XCTAssertEqual(membership.view.digest, digest)
        XCTAssertEqual(membership.placementRebuilds, 2, "the flap rebuilt nothing")
    }

    func test_aDeadMember_keepsItsPartitionsUntilTheFailureTimeout_evenAfterGossipReapsIt() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        _ = membership.apply(peer("n2", .dead, since: at(1_000)), now: at(1_000))
        _ = membership.apply(.reaped("n2"), now: at(31_000))
        _ = membership.tick(now: at(32_000))
        XCTAssertEqual(membership.view.owners.map(\.name), ["n1", "n2"])
        XCTAssertEqual(membership.knownStatus(of: "n2"), .dead)
        XCTAssertNil(membership.reported["n2"], "operators are shown what gossip reports now")

        XCTAssertEqual(wake(in: membership.tick(now: at(61_001))), at(62_001))
        XCTAssertEqual(membership.view.owners.map(\.name), ["n1"])
        XCTAssertEqual(membership.tick(now: at(62_001)), [.placementChanged, .repairRound])
    }

    func test_operatorRemoval_releasesAFailedMember_andRefusesALiveOne() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        _ = membership.apply(peer("n3"), now: at(0))
        _ = membership.apply(.removedByOperator("n3"), now: at(100))
        XCTAssertEqual(membership.view.owners.count, 3, "a live member is not removed")

        _ = membership.apply(peer("n3", .dead, since: at(200)), now: at(200))
        _ = membership.apply(.removedByOperator("n3"), now: at(300))
        XCTAssertEqual(membership.view.owners.map(\.name), ["n1", "n2"])
        XCTAssertEqual(membership.knownStatus(of: "n3"), .left)
        XCTAssertEqual(membership.tick(now: at(1_300)), [.placementChanged, .repairRound])
    }

    func test_leaving_releasesOwnPartitionsAtOnce() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        let effects = membership.beginLeaving(now: at(10))
        XCTAssertEqual(effects.filter { $0 == .placementChanged }.count, 1)
        XCTAssertEqual(membership.view.owners.map(\.name), ["n2"])
        XCTAssertTrue(membership.isLeaving)
        XCTAssertTrue(membership.routable.contains("n1"), "a leaving node still answers for what it holds")
    }

    func test_membersWithoutTheDataRole_areListedButHoldNothing() {
        var membership = membership()
        _ = membership.apply(peer("serf-agent", role: ""), now: at(0))
        XCTAssertNotNil(membership.reported["serf-agent"])
        XCTAssertEqual(membership.view.members.map(\.name), ["n1"])
        XCTAssertEqual(membership.routable, ["n1"])
    }

    func test_partitionCountVote_ignoresAMinority_andRefusesWhenTheMajorityDisagrees() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        _ = membership.apply(peer("n3"), now: at(0))
        _ = membership.tick(now: at(1_000))
        let minority = membership.apply(peer("odd", partitions: 128), now: at(1_010))
        XCTAssertEqual(minority, [.ignoring("odd", partitions: "128")])
        XCTAssertNil(membership.view.member(named: "odd"))
        XCTAssertEqual(membership.apply(peer("odd", .suspect, partitions: 128), now: at(1_020)), [],
                       "said once per member, not on every status change")

        XCTAssertFalse(membership.apply(peer("x1", partitions: 128), now: at(1_030)).contains(.refuseToJoin(theirPartitions: "128")),
                       "two of four disagree: not a majority")
        XCTAssertTrue(membership.apply(peer("x2", partitions: 128), now: at(1_040)).contains(.refuseToJoin(theirPartitions: "128")))
    }

    func test_anAddressChange_isRoutingNews() {
        var membership = membership()
        _ = membership.apply(peer("n2"), now: at(0))
        let generation = membership.routingGeneration
        var moved = Member(name: "n2", gossipAddress: "127.0.0.9:7946",
                           tags: ["dc": "dc2", "http": "elsewhere:8888", "role": Member.dataRole, "partitions": "64"],
                           status: .alive, incarnation: 2, since: start)
        XCTAssertTrue(membership.apply(.reported(moved), now: at(10)).contains(.routingChanged))
        XCTAssertEqual(membership.routingGeneration, generation + 1)
        moved.incarnation = 3
        XCTAssertFalse(membership.apply(.reported(moved), now: at(20)).contains(.routingChanged), "a refutation changes nothing")
    }
}
