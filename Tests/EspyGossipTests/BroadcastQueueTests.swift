@testable import EspyGossip
import EspyGossipWire
import XCTest

/// The transmit-limited queue and piggy-backing (spec §10, memberlist queue.go).
final class BroadcastQueueTests: XCTestCase {
    private func suspect(_ node: String, from: String = "x") -> PacketMessage {
        .suspect(SuspectMessage(incarnation: 1, node: node, from: from))
    }

    func test_retransmitLimit_isMultiplierTimesCeilLog10() {
        let limits = [1, 9, 10, 99, 100, 200, 999].map { BroadcastQueue.retransmitLimit(multiplier: 4, nodeCount: $0) }
        XCTAssertEqual(limits, [4, 4, 8, 8, 12, 12, 12])
    }

    func test_broadcast_isDroppedAfterRetransmitLimit() {
        var queue = BroadcastQueue()
        queue.enqueue(suspect("b"), name: "b")
        for round in 1...3 {
            XCTAssertEqual(queue.take(overhead: 2, limit: 1_400, transmitLimit: 3, maximumCount: 127), [suspect("b")],
                           "transmission \(round)")
        }
        XCTAssertEqual(queue.take(overhead: 2, limit: 1_400, transmitLimit: 3, maximumCount: 127), [])
        XCTAssertTrue(queue.isEmpty)
        XCTAssertFalse(queue.contains(named: "b"))
    }

    func test_newerBroadcastAboutSameNode_invalidatesOlder_butUserMessagesNeverDo() {
        var queue = BroadcastQueue()
        queue.enqueue(.alive(aliveMessage("b")), name: "b")
        queue.enqueue(.user([1]), name: nil)
        queue.enqueue(.user([1]), name: nil)
        queue.enqueue(suspect("b"), name: "b")
        XCTAssertEqual(queue.count, 3)
        let taken = queue.take(overhead: 2, limit: 1_400, transmitLimit: 4, maximumCount: 127)
        XCTAssertEqual(taken.filter { if case .alive = $0 { return true }; return false }.count, 0)
        XCTAssertEqual(taken.filter { $0 == suspect("b") }.count, 1)
        XCTAssertEqual(taken.filter { $0 == .user([1]) }.count, 2)
    }

    func test_queue_prefersFreshThenLongerThenNewer_andRespectsTheBudget() {
        var queue = BroadcastQueue()
        let short = suspect("b")
        let long = PacketMessage.alive(aliveMessage("c"))
        let shortNewer = suspect("d")
        queue.enqueue(short, name: "b")
        queue.enqueue(long, name: "c")
        queue.enqueue(shortNewer, name: "d")
        XCTAssertEqual(queue.take(overhead: 2, limit: 1_400, transmitLimit: 10, maximumCount: 127), [long, shortNewer, short])
        let fresh = suspect("e")
        queue.enqueue(fresh, name: "e")
        let oneFits = long.encoded().count + 2
        XCTAssertEqual(queue.take(overhead: 2, limit: oneFits, transmitLimit: 10, maximumCount: 127), [fresh],
                       "never sent beats sent once, even though the alive is longer")
        let budget = short.encoded().count + 2 + 5
        XCTAssertEqual(queue.take(overhead: 2, limit: budget, transmitLimit: 10, maximumCount: 127).count, 1)
        XCTAssertEqual(queue.take(overhead: 2, limit: 1_400, transmitLimit: 10, maximumCount: 2).count, 2, "part cap")
    }

    func test_piggyback_keepsPacketsWithinUDPBuffer_evenWhenEncrypted() throws {
        for overhead in [0, EncryptionVersion.unpadded.maximumOverhead] {
            var harness = Harness { $0.encryptionOverheadBytes = overhead }
            for index in 0..<150 {
                harness.receive(.alive(aliveMessage("peer-\(index)-with-a-longish-name",
                                                    at: GossipAddress(ip: [198, 18, 1, UInt8(index)], port: 7946))))
            }
            XCTAssertEqual(harness.instance.broadcasts.count, 151)
            let sends = harness.receive(.ping(PingMessage(seqNo: 1, node: "a")), from: address("b")).sends
            let messages = try XCTUnwrap(sends.first?.messages)
            XCTAssertGreaterThan(messages.count, 5)
            let packet = try GossipPacket.encode(messages, options: PacketOptions(compress: false))
            XCTAssertLessThanOrEqual(packet.count, 1_400 - overhead)
            XCTAssertGreaterThan(packet.count, 1_400 - overhead - 120, "and the budget is used")

            let gossip = harness.fire(.gossip).sends
            XCTAssertEqual(gossip.count, 3, "GossipNodes targets")
            for send in gossip {
                let bytes = try GossipPacket.encode(send.messages, options: PacketOptions(compress: false))
                XCTAssertLessThanOrEqual(bytes.count, 1_400 - overhead)
            }
        }
    }

    func test_gossipTick_targetsAliveSuspectAndRecentlyDead_neverLeftOrSelf() {
        var harness = Harness()
        harness.addPeers(["b", "c", "d", "e"])
        harness.receive(.suspect(SuspectMessage(incarnation: 1, node: "c", from: "x")))
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "d", from: "x")))
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "e", from: "e")))
        var targets: Set<GossipAddress> = []
        for round in 1...20 {
            harness.at(UInt64(round) * 200)
            harness.instance.broadcasts.enqueue(.user([UInt8(round)]), name: nil)
            targets.formUnion(harness.fire(.gossip).sends.map(\.to))
        }
        XCTAssertEqual(targets, [address("b"), address("c"), address("d")])
        harness.at(31_000)
        harness.instance.broadcasts.enqueue(.user([0]), name: nil)
        let late = harness.fire(.gossip).sends.map(\.to)
        XCTAssertFalse(late.contains(address("d")), "dead for longer than gossip-to-the-dead")
    }

    func test_gossipTick_withEmptyQueue_sendsNothing() {
        var harness = Harness()
        harness.addPeers(["b"])
        let directives = harness.fire(.gossip)
        XCTAssertEqual(directives, [.schedule(.gossip, afterMilliseconds: 200)])
    }
}
