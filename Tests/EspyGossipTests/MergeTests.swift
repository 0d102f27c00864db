@testable import EspyGossip
import EspyGossipWire
import XCTest

/// alive / suspect / dead precedence, refutation, leaving and reaping (spec §11).
final class MergeTests: XCTestCase {
    func test_onAlive_fromUnknownNode_addsMember_andRebroadcasts() {
        var harness = Harness()
        harness.addPeers([])
        harness.at(250)
        let events = harness.receive(.alive(aliveMessage("b", incarnation: 3))).events
        let member = Member(name: "b", address: address("b"), meta: GossipSettings.emptySerfTags, state: .alive,
                            incarnation: 3, stateChangedAt: GossipInstant(milliseconds: 250),
                            protocolVersions: .serfAgent)
        XCTAssertEqual(events, [.joined(member)])
        XCTAssertEqual(harness.instance.member(named: "b"), member)
        XCTAssertEqual(harness.queued, [.alive(aliveMessage("b", incarnation: 3))])
        XCTAssertEqual(harness.instance.members.map(\.name), ["a", "b"])
    }

    func test_onAlive_withStaleOrEqualIncarnation_isIgnored_andHigherUpdatesMeta() {
        var harness = Harness()
        harness.addPeers(["b"])
        XCTAssertEqual(harness.receive(.alive(aliveMessage("b", incarnation: 1, meta: [0xff, 0x81, 0xa1, 0x78, 0xa0]))), [])
        XCTAssertEqual(harness.queued, [], "old news is not re-gossiped")
        let events = harness.receive(.alive(aliveMessage("b", incarnation: 2, meta: [1]))).events
        guard case let .updated(member)? = events.first else { return XCTFail("\(events)") }
        XCTAssertEqual(member.meta, [1])
        XCTAssertEqual(member.incarnation, 2)
    }

    func test_onAlive_withNewAddress_forLiveNode_isAConflict_butLeftNodeMayMove() {
        var harness = Harness()
        harness.addPeers(["b"])
        let elsewhere = GossipAddress(ip: [198, 18, 7, 7], port: 8000)
        XCTAssertEqual(harness.receive(.alive(aliveMessage("b", incarnation: 9, at: elsewhere))), [])
        XCTAssertEqual(harness.instance.member(named: "b")?.address, address("b"))
        XCTAssertEqual(harness.instance.metrics.addressConflicts, 1)

        harness.receive(.dead(DeadMessage(incarnation: 1, node: "b", from: "b")))
        let events = harness.receive(.alive(aliveMessage("b", incarnation: 1, at: elsewhere))).events
        XCTAssertEqual(events.map(\.member.address), [elsewhere], "a left node may come back elsewhere")
        guard case .joined? = events.first else { return XCTFail("\(events)") }
    }

    func test_onAlive_withBadVersions_isIgnored() {
        var harness = Harness()
        let broken = ProtocolVersions(protocolMin: 3, protocolMax: 2, protocolCurrent: 2, delegateMin: 2, delegateMax: 5,
                                      delegateCurrent: 5)
        XCTAssertEqual(harness.receive(.alive(aliveMessage("b", versions: broken))), [])
        XCTAssertNil(harness.instance.member(named: "b"))
    }

    func test_onAlive_withPortZero_usesOurPort() {
        var harness = Harness()
        harness.receive(.alive(aliveMessage("b", at: GossipAddress(ip: address("b").ip, port: 0))))
        XCTAssertEqual(harness.instance.member(named: "b")?.address, address("b"))
    }

    func test_onSuspectAboutSelf_refutesWithHigherIncarnation() {
        var harness = Harness()
        harness.addPeers(["b"])
        XCTAssertEqual(harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "a", from: "b"))).events, [])
        XCTAssertEqual(harness.instance.localMember.incarnation, 2)
        XCTAssertEqual(harness.instance.localMember.state, .alive)
        XCTAssertEqual(harness.queued, [.alive(aliveMessage("a", incarnation: 2))])
        XCTAssertEqual(harness.instance.awareness.score, 1, "having to refute is a sign of poor health")
        XCTAssertEqual(harness.instance.metrics.refutations, 1)
        XCTAssertEqual(harness.instance.metrics.deathsRefuted, 0, "a suspected node is still written to")

        harness.receive(.suspect(SuspectMessage(incarnation: 7, node: "a", from: "b")))
        XCTAssertEqual(harness.instance.localMember.incarnation, 8, "above the accusation")
        XCTAssertEqual(harness.queued, [.alive(aliveMessage("a", incarnation: 8))], "the newer alive replaced the older")
    }

    func test_onDeadAboutSelf_refutesWithHigherIncarnation() {
        var harness = Harness()
        harness.receive(.dead(DeadMessage(incarnation: 4, node: "a", from: "b")))
        XCTAssertEqual(harness.instance.localMember.incarnation, 5)
        XCTAssertEqual(harness.instance.localMember.state, .alive)
        XCTAssertEqual(harness.instance.metrics.deathsRefuted, 1, "peers stopped writing to us: the node must catch up")
    }

    func test_onStaleSuspectAboutSelf_isIgnored() {
        var harness = Harness()
        harness.receive(.suspect(SuspectMessage(incarnation: 3, node: "a", from: "b")))
        harness.receive(.suspect(SuspectMessage(incarnation: 3, node: "a", from: "c")))
        XCTAssertEqual(harness.instance.localMember.incarnation, 4, "the second accusation is older than our refutation")
    }

    func test_onAliveAboutSelf_withOtherMeta_refutes_butIdenticalIsIgnored() {
        var harness = Harness()
        harness.receive(.alive(aliveMessage("a", incarnation: 1)))
        XCTAssertEqual(harness.instance.localMember.incarnation, 1)
        harness.receive(.alive(aliveMessage("a", incarnation: 1, meta: [0xff, 0x80, 0x00])))
        XCTAssertEqual(harness.instance.localMember.incarnation, 2, "a previous life with other tags")
    }

    func test_onSuspect_startsSuspicion_andTimeoutDeclaresDead() {
        var harness = Harness()
        harness.addPeers(["b"])
        let directives = harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "c")))
        guard case .suspected? = directives.events.first else { return XCTFail("\(directives)") }
        // n = 2: no confirmations expected, so the timeout is min = 4 × max(1, log10 2) × 1 s.
        XCTAssertEqual(directives.delay(of: .suspicionTimeout(node: "b", incarnation: 1)), 4_000)
        XCTAssertEqual(harness.queued, [.suspect(SuspectMessage(incarnation: 1, node: "b", from: "c"))])
        harness.at(3_999)
        XCTAssertEqual(harness.fire(.suspicionTimeout(node: "b", incarnation: 1)), [], "early firing is ignored")
        harness.at(4_000)
        let verdict = harness.fire(.suspicionTimeout(node: "b", incarnation: 1))
        guard case let .failed(member)? = verdict.events.first else { return XCTFail("\(verdict)") }
        XCTAssertEqual(member.state, .dead)
        XCTAssertEqual(harness.queued, [.dead(DeadMessage(incarnation: 1, node: "b", from: "a"))])
        XCTAssertEqual(harness.instance.metrics.suspicionTimeouts, 1)
    }

    func test_suspicion_withConfirmations_timesOutSooner() {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e"])
        // n = 5, k = 2: min 4 s, max 24 s (the spec's worked example).
        let first = harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "c")))
        XCTAssertEqual(first.delay(of: .suspicionTimeout(node: "b", incarnation: 1)), 24_000)
        harness.at(1_000)
        let second = harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "d")))
        XCTAssertEqual(second.delay(of: .suspicionTimeout(node: "b", incarnation: 1)), 11_381 - 1_000)
        XCTAssertEqual(harness.queued.count, 1, "the confirmation is re-gossiped, replacing the first")
        XCTAssertEqual(harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "d"))), [],
                       "the same accuser twice is no confirmation")
        harness.at(2_000)
        let third = harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "e")))
        XCTAssertEqual(third.delay(of: .suspicionTimeout(node: "b", incarnation: 1)), 2_000, "down to min, 4 s from start")
        harness.at(4_000)
        XCTAssertEqual(harness.fire(.suspicionTimeout(node: "b", incarnation: 1)).events.count, 1)
        harness.at(24_000)
        XCTAssertEqual(harness.fire(.suspicionTimeout(node: "b", incarnation: 1)), [], "the first timer is stale")
    }

    func test_onAlive_withHigherIncarnation_clearsSuspicion() {
        var harness = Harness()
        harness.addPeers(["b"])
        harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "c")))
        let events = harness.receive(.alive(aliveMessage("b", incarnation: 2))).events
        guard case .recovered? = events.first else { return XCTFail("\(events)") }
        harness.at(10_000)
        XCTAssertEqual(harness.fire(.suspicionTimeout(node: "b", incarnation: 1)), [])
        XCTAssertEqual(harness.instance.member(named: "b")?.state, .alive)
    }

    func test_onSuspect_withOlderIncarnation_isIgnored() {
        var harness = Harness()
        harness.receive(.alive(aliveMessage("b", incarnation: 5)))
        XCTAssertEqual(harness.receive(.suspect(SuspectMessage(incarnation: 4, node: "b", from: "c"))), [])
        XCTAssertEqual(harness.receive(.dead(DeadMessage(incarnation: 4, node: "b", from: "c"))), [])
        XCTAssertEqual(harness.instance.member(named: "b")?.state, .alive)
    }

    func test_onDead_fromOtherNode_marksFailed_andFromItself_marksLeft() {
        var harness = Harness()
        harness.addPeers(["b", "c"])
        let failed = harness.receive(.dead(DeadMessage(incarnation: 1, node: "b", from: "c"))).events
        guard case let .failed(member)? = failed.first else { return XCTFail("\(failed)") }
        XCTAssertEqual(member.state, .dead)
        let left = harness.receive(.dead(DeadMessage(incarnation: 1, node: "c", from: "c"))).events
        guard case let .left(leaver)? = left.first else { return XCTFail("\(left)") }
        XCTAssertEqual(leaver.state, .left)
        XCTAssertEqual(harness.receive(.dead(DeadMessage(incarnation: 1, node: "c", from: "b"))), [], "already gone")
    }

    func test_leave_gossipsDeadFromSelf_withSerfLeaveIntent_andPeersSeeLeftNotFailed() {
        var leaver = Harness(name: "a")
        leaver.addPeers(["b"])
        let directives = leaver.instance.leave(now: leaver.now, serfLeaveIntentLTime: 5, rng: &leaver.rng)
        guard case let .left(me)? = directives.events.first else { return XCTFail("\(directives)") }
        XCTAssertEqual(me.name, "a")
        XCTAssertTrue(leaver.instance.hasLeft)
        XCTAssertTrue(leaver.instance.isLeaveBroadcastPending)
        let intent = GossipInstance.serfLeaveIntent(node: "a", lTime: 5)
        XCTAssertEqual(intent, .user([0x00] + SerfLeaveIntent(lTime: 5, node: "a").msgpackEncoded()))
        XCTAssertEqual(Set(leaver.queued.map { "\($0)" }),
                       Set([PacketMessage.dead(DeadMessage(incarnation: 1, node: "a", from: "a")), intent].map { "\($0)" }))

        var peer = Harness(name: "b")
        peer.addPeers(["a"])
        var rounds = 0, transmissions = 0
        while leaver.instance.isLeaveBroadcastPending && rounds < 100 {
            rounds += 1
            leaver.at(UInt64(rounds) * 200)
            for send in leaver.fire(.gossip).sends {
                XCTAssertEqual(send.to, address("b"))
                transmissions += send.messages.contains(.dead(DeadMessage(incarnation: 1, node: "a", from: "a"))) ? 1 : 0
                let events = peer.receive(send.messages, from: address("a")).events
                for event in events {
                    guard case let .left(member) = event else { return XCTFail("peer saw \(event)") }
                    XCTAssertEqual(member.name, "a")
                }
            }
        }
        XCTAssertFalse(leaver.instance.isLeaveBroadcastPending, "sent its transmit limit (4 for 2 nodes)")
        XCTAssertEqual(transmissions, 4)
        XCTAssertEqual(peer.instance.member(named: "a")?.state, .left)
    }

    func test_afterLeave_accusationsAreNotRefuted_andAliveAboutSelfIsIgnored() {
        var harness = Harness()
        harness.addPeers(["b"])
        _ = harness.instance.leave(now: harness.now, rng: &harness.rng)
        harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "a", from: "b")))
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "a", from: "b")))
        harness.receive(.alive(aliveMessage("a", incarnation: 9)))
        XCTAssertEqual(harness.instance.localMember.incarnation, 1)
        XCTAssertEqual(harness.instance.localMember.state, .left)
        XCTAssertEqual(harness.instance.metrics.refutations, 0)
        XCTAssertEqual(harness.instance.leave(now: harness.now, rng: &harness.rng), [], "leaving twice does nothing")
    }

    func test_deadMembers_areReapedAtProbeWrap_onlyAfterGossipToTheDead_andLeftOnesNever() {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e"])
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "c", from: "b")))
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "d", from: "d")))
        func probeRounds(from start: UInt64) -> [MemberEvent] {
            var events: [MemberEvent] = []
            for round in 0..<6 {
                harness.at(start + UInt64(round) * 1_000)
                let directives = harness.fire(.probe)
                events += directives.events
                if case let .ping(ping)? = directives.sentMessages.first {
                    harness.receive(.ack(AckMessage(seqNo: ping.seqNo)))
                }
            }
            return events
        }
        XCTAssertEqual(probeRounds(from: 10_000), [], "dead for less than 30 s")
        let reaped = probeRounds(from: 40_000)
        XCTAssertEqual(reaped.map(\.member.name), ["c"])
        guard case .reaped? = reaped.first else { return XCTFail("\(reaped)") }
        XCTAssertNil(harness.instance.member(named: "c"))
        XCTAssertEqual(harness.instance.member(named: "d")?.state, .left, "memberlist 0.2.2 never reaps left nodes")
    }

    func test_membersAndMetrics_countByState() {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e"])
        harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "b", from: "c")))
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "c", from: "b")))
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "d", from: "d")))
        harness.instance.recordDecodeError()
        let metrics = harness.instance.metrics
        XCTAssertEqual([metrics.membersAlive, metrics.membersSuspect, metrics.membersDead, metrics.membersLeft], [2, 1, 1, 1])
        XCTAssertEqual(metrics.decodeErrors, 1)
        XCTAssertEqual(metrics.suspicionsRaised, 1)
        XCTAssertEqual(harness.instance.members.map(\.name), ["a", "b", "c", "d", "e"])
    }
}
