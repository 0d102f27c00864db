@testable import EspyGossip
import EspyGossipWire
import XCTest

/// Operator removal (`espymetrics remove`, Serf's force-leave) as a Serf leave intent.
final class ForceLeaveTests: XCTestCase {
    private func removals(_ directives: [GossipDirective]) -> [String] {
        directives.compactMap { if case let .removed(node) = $0 { node } else { nil } }
    }

    func test_forceLeave_ofAFailedMember_marksItLeft_andGossipsASerfLeaveIntent() {
        var harness = Harness()
        harness.addPeers(["b", "c"])
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "b", from: "c")))
        let directives = harness.instance.forceLeave(node: "b", lTime: 9, now: harness.now)
        guard case let .left(member)? = directives.events.first else { return XCTFail("\(directives)") }
        XCTAssertEqual(member.name, "b")
        XCTAssertEqual(harness.instance.member(named: "b")?.state, .left)
        XCTAssertEqual(removals(directives), ["b"])
        XCTAssertTrue(harness.queued.contains(SerfLeaveIntent(lTime: 9, node: "b").packetMessage))
    }

    func test_aReceivedIntent_isAppliedOnce_evenForAMemberGossipAlreadyForgot() {
        var harness = Harness()
        harness.addPeers(["c"])
        let intent = SerfLeaveIntent(lTime: 4, node: "gone").packetMessage
        let first = harness.receive(intent, from: address("c"))
        XCTAssertEqual(removals(first), ["gone"], "the cluster layer may still remember it")
        XCTAssertEqual(first.events, [])
        XCTAssertTrue(harness.queued.contains(intent), "passed on, like Serf's rebroadcast")
        XCTAssertEqual(harness.receive(intent, from: address("c")), [], "an intent seen before is ignored")
    }

    func test_anIntentAboutALiveMember_orOurselves_changesNothing() {
        var harness = Harness()
        harness.addPeers(["b"])
        XCTAssertEqual(harness.receive(SerfLeaveIntent(lTime: 3, node: "b").packetMessage), [])
        XCTAssertEqual(harness.instance.member(named: "b")?.state, .alive)
        XCTAssertEqual(harness.instance.forceLeave(node: "a", lTime: 3, now: harness.now), [])
        XCTAssertEqual(harness.receive(SerfLeaveIntent(lTime: 3, node: "a").packetMessage), [])
        XCTAssertEqual(harness.instance.member(named: "a")?.state, .alive)
    }

    func test_anIntentAboutAMemberThatLeftGracefully_isNotARemoval() {
        var harness = Harness()
        harness.addPeers(["b", "c"])
        harness.receive(.dead(DeadMessage(incarnation: 1, node: "b", from: "b")))
        XCTAssertEqual(harness.instance.member(named: "b")?.state, .left)
        let directives = harness.receive(SerfLeaveIntent(lTime: 8, node: "b").packetMessage, from: address("c"))
        XCTAssertEqual(removals(directives), [], "its own leave already released it")
        XCTAssertEqual(directives.events, [])
    }

    func test_otherSerfMessages_areIgnored() {
        var harness = Harness()
        harness.addPeers(["b"])
        XCTAssertEqual(harness.receive(.user([SerfMessageType.userEvent.rawValue, 0x80]), from: address("b")), [])
        XCTAssertEqual(harness.receive(.user([]), from: address("b")), [])
    }
}
