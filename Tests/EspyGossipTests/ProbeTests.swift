@testable import EspyGossip
import EspyGossipWire
import XCTest

/// The failure detector: pings, acks, indirect probes, nacks and the TCP fallback (spec §11).
final class ProbeTests: XCTestCase {
    func test_onPing_fromKnownMember_repliesWithAck() {
        var harness = Harness()
        harness.addPeers(["b"])
        let ping = PingMessage(seqNo: 42, node: "a", sourceAddr: address("b").ip, sourcePort: 7946, sourceNode: "b")
        let sends = harness.receive(.ping(ping), from: GossipAddress(ip: address("b").ip, port: 40000)).sends
        XCTAssertEqual(sends.count, 1)
        XCTAssertEqual(sends.first?.to, address("b"), "to SourceAddr:SourcePort, not the packet's source port")
        XCTAssertEqual(sends.first?.messages, [.ack(AckMessage(seqNo: 42, payload: nil))])
    }

    func test_onPing_withoutSourceAddress_repliesToPacketSource() {
        var harness = Harness()
        let source = GossipAddress(ip: [198, 18, 9, 9], port: 1234)
        let sends = harness.receive(.ping(PingMessage(seqNo: 3, node: "")), from: source).sends
        XCTAssertEqual(sends.first?.to, source)
        XCTAssertEqual(sends.first?.messages.first, .ack(AckMessage(seqNo: 3)))
    }

    func test_onPing_forAnotherNode_isIgnored() {
        var harness = Harness()
        XCTAssertEqual(harness.receive(.ping(PingMessage(seqNo: 1, node: "zz"))), [])
    }

    func test_onAck_piggybacksQueuedBroadcasts() {
        var harness = Harness()
        harness.addPeers(["b"])
        harness.receive(.alive(aliveMessage("c")))
        let sends = harness.receive(.ping(PingMessage(seqNo: 5, node: "a")), from: address("b")).sends
        XCTAssertEqual(sends.first?.messages, [.ack(AckMessage(seqNo: 5)), .alive(aliveMessage("c"))])
    }

    func test_probeTick_pingsNextMember_andArmsBothTimeouts() {
        var harness = Harness()
        harness.addPeers(["b"])
        let directives = harness.fire(.probe)
        guard let send = directives.sends.first, case let .ping(ping) = send.messages.first else {
            return XCTFail("no ping: \(directives)")
        }
        XCTAssertEqual(send.to, address("b"))
        XCTAssertEqual(ping.node, "b")
        XCTAssertEqual(ping.sourceNode, "a")
        XCTAssertEqual(ping.sourceAddr, address("a").ip)
        XCTAssertEqual(ping.sourcePort, 7946)
        XCTAssertEqual(directives.delay(of: .probe), 1_000, "fixed ticker")
        XCTAssertEqual(directives.delay(of: .probeTimeout(seq: ping.seqNo)), 500)
        XCTAssertEqual(directives.delay(of: .indirectTimeout(seq: ping.seqNo)), 1_000)
        XCTAssertEqual(harness.instance.metrics.probesSent, 1)
    }

    func test_probeTick_inClusterOfOne_sendsNothing() {
        var harness = Harness()
        let directives = harness.fire(.probe)
        XCTAssertEqual(directives.sends.count, 0)
        XCTAssertEqual(directives.delay(of: .probe), 1_000)
    }

    func test_probe_withoutDirectAck_sendsIndirectPingsAndTCPFallback() {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e"])
        let ping = harness.probe()
        harness.at(500)
        let directives = harness.fire(.probeTimeout(seq: ping.seqNo))
        let requests = directives.sends.compactMap { send -> (GossipAddress, IndirectPingMessage)? in
            if case let .indirectPing(request) = send.messages.first { return (send.to, request) }
            return nil
        }
        XCTAssertEqual(requests.count, 3, "IndirectChecks relays")
        XCTAssertEqual(Set(requests.map(\.0)).count, 3)
        for (relay, request) in requests {
            XCTAssertNotEqual(relay, address(ping.node), "never the target itself")
            XCTAssertNotEqual(relay, address("a"))
            XCTAssertEqual(request.seqNo, ping.seqNo)
            XCTAssertEqual(request.node, ping.node)
            XCTAssertEqual(request.target, address(ping.node).ip)
            XCTAssertEqual(request.port, 7946)
            XCTAssertTrue(request.nack, "relays speak protocol 5")
            XCTAssertEqual(request.sourceNode, "a")
        }
        XCTAssertEqual(directives.streams.count, 1)
        XCTAssertEqual(directives.streams.first?.to, address(ping.node))
        XCTAssertEqual(directives.streams.first?.message, .ping(ping))
        XCTAssertEqual(directives.streams.first?.timeout, 500, "until the end of the probe interval")
    }

    func test_probe_withNoAckAtAll_suspectsTarget_andBlamesItselfForMissingNacks() throws {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e"])
        let ping = harness.probe()
        harness.at(500)
        let stream = try XCTUnwrap(harness.fire(.probeTimeout(seq: ping.seqNo)).streams.first)
        harness.at(600)
        XCTAssertEqual(harness.streamResult(stream.id, .failure(.connectFailed())), [])
        harness.at(1_000)
        let directives = harness.fire(.indirectTimeout(seq: ping.seqNo))
        XCTAssertEqual(directives.events.map(\.member.name), [ping.node])
        guard case .suspected? = directives.events.first else { return XCTFail("\(directives)") }
        XCTAssertEqual(harness.instance.member(named: ping.node)?.state, .suspect)
        XCTAssertEqual(harness.instance.awareness.score, 3, "three nacks expected, none came")
        XCTAssertEqual(harness.instance.metrics.probeFailures, 1)
        XCTAssertTrue(harness.queued.contains(.suspect(SuspectMessage(incarnation: 1, node: ping.node, from: "a"))))
    }

    func test_probe_judgedLongAfterItEnded_suspectsNobody_andSlowsUsDown() throws {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e"])
        let ping = harness.probe()
        harness.at(500)
        let stream = try XCTUnwrap(harness.fire(.probeTimeout(seq: ping.seqNo)).streams.first)
        harness.at(600)
        harness.streamResult(stream.id, .failure(.connectFailed()))
        harness.at(1_501) // the loop was held up: the interval ended at 1,000
        let directives = harness.fire(.indirectTimeout(seq: ping.seqNo))
        XCTAssertEqual(directives.events, [], "no accusation from a node that was not listening")
        XCTAssertEqual(harness.instance.member(named: ping.node)?.state, .alive)
        XCTAssertEqual(harness.instance.awareness.score, 1)
        XCTAssertEqual(harness.instance.metrics.probesJudgedLate, 1)
        XCTAssertEqual(harness.instance.metrics.probeFailures, 0)
    }

    func test_probe_withNacksFromEveryRelay_leavesHealthAlone() throws {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e"])
        let ping = harness.probe()
        harness.at(500)
        let stream = try XCTUnwrap(harness.fire(.probeTimeout(seq: ping.seqNo)).streams.first)
        harness.at(900)
        harness.receive([.nack(NackMessage(seqNo: ping.seqNo)), .nack(NackMessage(seqNo: ping.seqNo)),
                         .nack(NackMessage(seqNo: ping.seqNo))])
        harness.streamResult(stream.id, .failure(.timedOut()))
        harness.at(1_000)
        harness.fire(.indirectTimeout(seq: ping.seqNo))
        XCTAssertEqual(harness.instance.member(named: ping.node)?.state, .suspect)
        XCTAssertEqual(harness.instance.awareness.score, 0, "the relays are fine, so the target is the problem")
    }

    func test_probe_withRelaysTooOldToNack_raisesHealthScoreByOne() {
        var harness = Harness()
        harness.addPeers(["b", "c"], versions: protocolThreeVersions)
        let ping = harness.probe()
        harness.at(500)
        let directives = harness.fire(.probeTimeout(seq: ping.seqNo))
        XCTAssertTrue(directives.sentMessages.allSatisfy { message in
            if case let .indirectPing(request) = message { return !request.nack }
            return true
        })
        harness.at(1_000)
        harness.fire(.indirectTimeout(seq: ping.seqNo))
        if let stream = directives.streams.first { harness.streamResult(stream.id, .failure(.timedOut())) }
        XCTAssertEqual(harness.instance.awareness.score, 1)
    }

    func test_probe_verdictWaitsForPendingTCPFallback_andAnsweredTCPKeepsTargetAlive() throws {
        var harness = Harness()
        harness.addPeers(["b", "c"])
        let ping = harness.probe()
        harness.at(500)
        let stream = try XCTUnwrap(harness.fire(.probeTimeout(seq: ping.seqNo)).streams.first)
        harness.at(1_000)
        XCTAssertEqual(harness.fire(.indirectTimeout(seq: ping.seqNo)).events, [], "verdict waits for the TCP ping")
        let directives = harness.streamResult(stream.id, .success(.ack(AckMessage(seqNo: ping.seqNo))))
        XCTAssertEqual(directives.events, [])
        XCTAssertEqual(harness.instance.member(named: ping.node)?.state, .alive)
        XCTAssertEqual(harness.instance.metrics.tcpOnlyProbeSuccesses, 1)
        XCTAssertEqual(harness.instance.metrics.probeFailures, 0)
    }

    func test_probe_tcpAckWithWrongSequence_doesNotCount() throws {
        var harness = Harness()
        harness.addPeers(["b", "c"])
        let ping = harness.probe()
        harness.at(500)
        let stream = try XCTUnwrap(harness.fire(.probeTimeout(seq: ping.seqNo)).streams.first)
        harness.streamResult(stream.id, .success(.ack(AckMessage(seqNo: ping.seqNo + 1))))
        harness.at(1_000)
        XCTAssertEqual(harness.fire(.indirectTimeout(seq: ping.seqNo)).events.count, 1, "suspected")
    }

    func test_ackDuringIndirectPhase_completesProbe() {
        var harness = Harness()
        harness.addPeers(["b", "c", "d"])
        let ping = harness.probe()
        harness.at(500)
        harness.fire(.probeTimeout(seq: ping.seqNo))
        harness.at(700)
        harness.receive(.ack(AckMessage(seqNo: ping.seqNo)))
        harness.at(1_000)
        XCTAssertEqual(harness.fire(.indirectTimeout(seq: ping.seqNo)), [], "a stale timer does nothing")
        XCTAssertEqual(harness.instance.member(named: ping.node)?.state, .alive)
    }

    func test_directAck_lowersHealthScore() {
        var harness = Harness()
        harness.addPeers(["b"])
        harness.instance.awareness.apply(3)
        let ping = harness.probe()
        harness.receive(.ack(AckMessage(seqNo: ping.seqNo)))
        XCTAssertEqual(harness.instance.awareness.score, 2)
        XCTAssertEqual(harness.fire(.probeTimeout(seq: ping.seqNo)), [], "nothing left to time out")
    }

    func test_awareness_stretchesTheProbeInterval() {
        var harness = Harness()
        harness.addPeers(["b"])
        harness.instance.awareness.apply(2)
        let directives = harness.fire(.probe)
        guard case let .ping(ping)? = directives.sentMessages.first else { return XCTFail() }
        XCTAssertEqual(directives.delay(of: .indirectTimeout(seq: ping.seqNo)), 3_000, "interval × (score + 1)")
        XCTAssertEqual(directives.delay(of: .probeTimeout(seq: ping.seqNo)), 500, "the ack timeout is not scaled")
    }

    func test_probeTick_duringSlowProbe_isKeptAndRunsWhenTheProbeEnds() {
        var harness = Harness()
        harness.addPeers(["b", "c", "d"])
        harness.instance.awareness.apply(2)
        let ping = harness.probe()
        harness.at(1_000)
        XCTAssertEqual(harness.fire(.probe).sends.count, 0, "one probe at a time")
        harness.at(1_200)
        let directives = harness.receive(.ack(AckMessage(seqNo: ping.seqNo)))
        XCTAssertEqual(directives.sentMessages.filter { if case .ping = $0 { return true }; return false }.count, 1,
                       "the missed tick starts the next probe right away")
    }

    func test_probe_ofSuspectTarget_carriesSuspectMessage() {
        var harness = Harness()
        harness.addPeers(["b"])
        harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "c")))
        let directives = harness.fire(.probe)
        XCTAssertEqual(directives.sends.count, 1)
        guard case let .ping(ping)? = directives.sends.first?.messages.first else { return XCTFail() }
        XCTAssertEqual(directives.sends.first?.messages,
                       [.ping(ping), .suspect(SuspectMessage(incarnation: 1, node: "b", from: "a"))],
                       "ping + suspect, nothing piggy-backed")
    }

    func test_probe_skipsDeadAndLeftMembers() {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e", "f", "g"])
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "c", from: "b")))
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "d", from: "d")))
        var probed: Set<String> = []
        for round in 0..<12 {
            harness.at(UInt64(round) * 1_000)
            let ping = harness.probe()
            probed.insert(ping.node)
            harness.receive(.ack(AckMessage(seqNo: ping.seqNo)))
        }
        XCTAssertEqual(probed, ["b", "e", "f", "g"])
    }

    func test_onIndirectPing_relaysPing_andForwardsAck() {
        var harness = Harness()
        harness.addPeers([]) // nothing to piggy-back
        let request = IndirectPingMessage(seqNo: 9, target: address("b").ip, port: 7946, node: "b", nack: true,
                                          sourceAddr: address("c").ip, sourcePort: 7946, sourceNode: "c")
        let directives = harness.receive(.indirectPing(request), from: address("c"))
        guard let send = directives.sends.first, case let .ping(ping) = send.messages.first else {
            return XCTFail("\(directives)")
        }
        XCTAssertEqual(send.to, address("b"))
        XCTAssertEqual(ping.node, "b")
        XCTAssertEqual(ping.sourceNode, "a", "the relay pings as itself")
        XCTAssertNotEqual(ping.seqNo, 9, "with its own sequence number")
        XCTAssertEqual(directives.delay(of: .relayTimeout(seq: ping.seqNo)), 500)
        let forwarded = harness.receive(.ack(AckMessage(seqNo: ping.seqNo)), from: address("b")).sends
        XCTAssertEqual(forwarded.first?.to, address("c"))
        XCTAssertEqual(forwarded.first?.messages, [.ack(AckMessage(seqNo: 9))])
        XCTAssertEqual(harness.fire(.relayTimeout(seq: ping.seqNo)), [], "no nack after an ack")
    }

    func test_onIndirectPing_withoutTargetAck_sendsNack() {
        var harness = Harness()
        harness.addPeers([])
        let request = IndirectPingMessage(seqNo: 9, target: address("b").ip, port: 7946, node: "b", nack: true,
                                          sourceAddr: address("c").ip, sourcePort: 7946, sourceNode: "c")
        guard case let .ping(ping)? = harness.receive(.indirectPing(request)).sentMessages.first else { return XCTFail() }
        harness.at(500)
        let sends = harness.fire(.relayTimeout(seq: ping.seqNo)).sends
        XCTAssertEqual(sends.first?.to, address("c"))
        XCTAssertEqual(sends.first?.messages, [.nack(NackMessage(seqNo: 9))])
    }

    func test_onIndirectPing_withoutNackFlag_staysSilent() {
        var harness = Harness()
        let request = IndirectPingMessage(seqNo: 9, target: address("b").ip, port: 0, node: "b", nack: false)
        let directives = harness.receive(.indirectPing(request), from: address("c"))
        XCTAssertEqual(directives.sends.first?.to, address("b"), "port 0 means our own port")
        guard case let .ping(ping)? = directives.sentMessages.first else { return XCTFail() }
        XCTAssertEqual(harness.fire(.relayTimeout(seq: ping.seqNo)), [])
    }
}
