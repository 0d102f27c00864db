@testable import EspyGossip
import EspyGossipWire
import XCTest

/// Push/pull merge, TCP stream requests, join with retry, reconnect and the periodic timers (spec §8, §10–§12).
final class PushPullTests: XCTestCase {
    private func state(_ name: String, _ state: MemberState, incarnation: UInt32 = 1,
                       versions: ProtocolVersions? = .serfAgent) -> PushNodeState {
        PushNodeState(name: name, addr: address(name).ip, port: 7946, meta: GossipSettings.emptySerfTags,
                      incarnation: incarnation, state: state, versions: versions)
    }

    private func pushPull(_ nodes: [PushNodeState], join: Bool = false) -> StreamMessage {
        .pushPull(PushPullMessage(join: join, nodes: nodes))
    }

    func test_start_schedulesPeriodicTimers_andAnnouncesItself() {
        let harness = Harness()
        let started = harness.started
        guard case let .joined(me)? = started.events.first else { return XCTFail("\(started)") }
        XCTAssertEqual(me.name, "a")
        XCTAssertEqual(me.incarnation, 1)
        XCTAssertLessThan(try XCTUnwrap(started.delay(of: .probe)), 1_000, "random stagger within one interval")
        XCTAssertLessThan(try XCTUnwrap(started.delay(of: .gossip)), 200)
        XCTAssertLessThan(try XCTUnwrap(started.delay(of: .pushPull)), 30_000)
        XCTAssertEqual(started.delay(of: .reconnect), 30_000)
        XCTAssertEqual(harness.queued, [.alive(aliveMessage("a"))])
    }

    func test_pushPullMerge_higherIncarnationWins_lowerIsIgnored() {
        var harness = Harness()
        harness.receive(.alive(aliveMessage("b", incarnation: 3)))
        harness.receive(.suspect(SuspectMessage(incarnation: 3, node: "b", from: "x")))
        _ = harness.streamRequest(pushPull([state("b", .alive, incarnation: 2), state("c", .alive, incarnation: 4)]))
        XCTAssertEqual(harness.instance.member(named: "b")?.state, .suspect, "incarnation 2 is older news")
        XCTAssertEqual(harness.instance.member(named: "c")?.incarnation, 4)
        let events = harness.streamRequest(pushPull([state("b", .alive, incarnation: 4)])).directives.events
        guard case .recovered? = events.first else { return XCTFail("\(events)") }
    }

    func test_pushPullMerge_remoteDeadOnlySuspects_andRemoteLeftMarksLeft() {
        var harness = Harness()
        harness.addPeers(["b", "c"])
        let events = harness.streamRequest(pushPull([state("b", .dead), state("c", .left)])).directives.events
        XCTAssertEqual(harness.instance.member(named: "b")?.state, .suspect, "our own evidence before declaring death")
        XCTAssertEqual(harness.instance.member(named: "c")?.state, .left)
        XCTAssertTrue(harness.queued.contains(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "a"))))
        XCTAssertEqual(events.count, 2)
    }

    func test_streamRequest_pushPull_repliesWithOurStateBeforeMerging() throws {
        var harness = Harness()
        harness.addPeers(["b"])
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "b", from: "x")))
        let (reply, directives) = harness.streamRequest(pushPull([state("c", .alive)], join: true))
        guard case let .pushPull(ours)? = reply else { return XCTFail("\(String(describing: reply))") }
        XCTAssertTrue(ours.join, "Join is echoed")
        XCTAssertEqual(Set(ours.nodes.map(\.name)), ["a", "b"], "c was merged after the reply was built")
        XCTAssertEqual(ours.nodes.first { $0.name == "b" }?.state, .dead, "dead members are included")
        XCTAssertEqual(ours.nodes.first { $0.name == "a" }, state("a", .alive))
        XCTAssertEqual(ours.userState, [])
        XCTAssertEqual(directives.events.map(\.member.name), ["c"])
    }

    func test_streamRequest_tcpPing_repliesWithAck_onlyWhenForUs() {
        var harness = Harness()
        XCTAssertEqual(harness.streamRequest(.ping(PingMessage(seqNo: 5, node: "a"))).reply, .ack(AckMessage(seqNo: 5)))
        XCTAssertNil(harness.streamRequest(.ping(PingMessage(seqNo: 5, node: "q"))).reply)
        XCTAssertNil(harness.streamRequest(.user([1, 2])).reply)
    }

    func test_pushPull_withIncompatibleVersions_isNotMerged() {
        var harness = Harness()
        let ancient = ProtocolVersions(protocolMin: 1, protocolMax: 1, protocolCurrent: 1, delegateMin: 2, delegateMax: 5,
                                       delegateCurrent: 5)
        _ = harness.streamRequest(pushPull([state("b", .alive, versions: ancient), state("c", .alive)]))
        XCTAssertNil(harness.instance.member(named: "c"), "nothing merged")
        XCTAssertEqual(harness.instance.metrics.incompatibleStates, 1)
        _ = harness.streamRequest(pushPull([state("c", .dead, versions: nil)]))
        XCTAssertEqual(harness.instance.metrics.incompatibleStates, 2, "a node without Vsn counts as version 0")
    }

    func test_join_withoutAnswer_retriesWithBackoff() throws {
        var harness = Harness()
        var directives = harness.instance.join(seeds: [address("b"), address("c"), address("a"), address("b")],
                                               now: harness.now, rng: &harness.rng)
        XCTAssertTrue(harness.instance.isJoining)
        var delays: [UInt64] = []
        for _ in 0..<7 {
            let streams = directives.streams
            XCTAssertEqual(streams.map(\.to), [address("b"), address("c")], "deduplicated, without ourselves")
            for stream in streams {
                XCTAssertEqual(stream.timeout, 10_000)
                guard case let .pushPull(request) = stream.message else { return XCTFail("\(stream.message)") }
                XCTAssertTrue(request.join)
                XCTAssertEqual(request.nodes.map(\.name), ["a"])
            }
            XCTAssertEqual(harness.streamResult(streams[0].id, .failure(.connectFailed())), [], "one seed still out")
            let failed = harness.streamResult(streams[1].id, .failure(.timedOut()))
            delays.append(try XCTUnwrap(failed.delay(of: .joinRetry)))
            directives = harness.fire(.joinRetry)
        }
        XCTAssertEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
        XCTAssertEqual(harness.instance.metrics.pushPullFailures, 14)
    }

    func test_join_success_stopsRetrying_andMergesTheSeedsState() throws {
        var harness = Harness()
        let streams = harness.instance.join(seeds: [address("b"), address("c")], now: harness.now, rng: &harness.rng).streams
        let merged = harness.streamResult(streams[0].id, .success(pushPull([state("b", .alive), state("d", .alive)],
                                                                          join: true)))
        XCTAssertEqual(Set(merged.events.map(\.member.name)), ["b", "d"])
        XCTAssertFalse(harness.instance.isJoining)
        XCTAssertEqual(harness.streamResult(streams[1].id, .failure(.connectFailed())), [])
        XCTAssertEqual(harness.fire(.joinRetry), [])
    }

    func test_join_withOnlyOurOwnAddress_isAClusterOfOne() {
        var harness = Harness()
        XCTAssertEqual(harness.instance.join(seeds: [address("a")], now: harness.now, rng: &harness.rng), [])
        XCTAssertFalse(harness.instance.isJoining)
    }

    func test_joinReply_reportingUsDead_isRefuted() throws {
        var harness = Harness()
        let stream = try XCTUnwrap(harness.instance.join(seeds: [address("b")], now: harness.now, rng: &harness.rng)
            .streams.first)
        harness.streamResult(stream.id, .success(pushPull([state("b", .alive), state("a", .dead, incarnation: 10)])))
        XCTAssertEqual(harness.instance.localMember.incarnation, 11, "a restarted node out-bids its old death")
        XCTAssertEqual(harness.instance.localMember.state, .alive)
        XCTAssertTrue(harness.queued.contains(.alive(aliveMessage("a", incarnation: 11))))
    }

    func test_pushPullTick_syncsWithOneAliveMember_atAScaledInterval() throws {
        var harness = Harness()
        harness.addPeers(["b", "c"])
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "c", from: "x")))
        for _ in 0..<10 {
            let directives = harness.fire(.pushPull)
            XCTAssertEqual(directives.delay(of: .pushPull), 30_000)
            let stream = try XCTUnwrap(directives.streams.first)
            XCTAssertEqual(stream.to, address("b"), "only alive members")
            guard case let .pushPull(request) = stream.message else { return XCTFail() }
            XCTAssertFalse(request.join)
            XCTAssertEqual(request.nodes.count, 3)
        }
        XCTAssertEqual([32, 33, 64, 65, 128, 200].map { GossipInstance.pushPullInterval(base: 30_000, nodeCount: $0) },
                       [30_000, 60_000, 60_000, 90_000, 90_000, 120_000])
    }

    func test_reconnect_pushPullJoinsAFailedMember_untilItComesBack() throws {
        var harness = Harness()
        harness.addPeers(["b"])
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "b", from: "x")))
        let directives = harness.fire(.reconnect)
        XCTAssertEqual(directives.delay(of: .reconnect), 30_000)
        let stream = try XCTUnwrap(directives.streams.first, "one failed member, one live: probability 1")
        XCTAssertEqual(stream.to, address("b"))
        guard case let .pushPull(request) = stream.message else { return XCTFail() }
        XCTAssertTrue(request.join)
        harness.streamResult(stream.id, .success(pushPull([state("b", .alive, incarnation: 2)])))
        XCTAssertEqual(harness.instance.member(named: "b")?.state, .alive)
        XCTAssertEqual(harness.fire(.reconnect).streams.count, 0, "nobody left to reconnect to")
    }

    func test_reconnect_ignoresMembersThatLeft() {
        var harness = Harness()
        harness.addPeers(["b"])
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "b", from: "b")))
        XCTAssertEqual(harness.fire(.reconnect).streams.count, 0)
    }

    func test_unknownStreamResult_isIgnored() {
        var harness = Harness()
        XCTAssertEqual(harness.streamResult(999, .failure(.timedOut())), [])
        XCTAssertEqual("\(GossipStreamFailure.connectFailed("refused"))", "connect failed: refused")
    }
}
