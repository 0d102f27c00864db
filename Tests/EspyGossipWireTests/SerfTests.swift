@testable import EspyGossipWire
import XCTest

/// Serf meta tags and the leave/join intents (spec §13).
final class SerfTests: XCTestCase {
    func testLegacyMetaIsTheRole() throws {
        XCTAssertEqual(try SerfTags.decode(nil), ["role": ""])
        XCTAssertEqual(try SerfTags.decode([]), ["role": ""])
        XCTAssertEqual(try SerfTags.decode(ascii("web")), ["role": "web"])
    }

    func testTagsRoundTripAndAreSortedDeterministically() throws {
        let tags = ["zone": "z", "role": "r1", "dc": "east", "ünïcode": "ok", "": "empty key"]
        let encoded = try SerfTags.encode(tags)
        XCTAssertEqual(encoded.prefix(2), [0xff, 0x85])
        XCTAssertEqual(Array(encoded[2...3]), hex("a0 a9"), "the empty key sorts first")
        XCTAssertEqual(try SerfTags.decode(encoded), tags)
        XCTAssertEqual(try SerfTags.encode(tags), encoded)
    }

    func testTagDecodingFollowsGo() throws {
        // Keys and values may use str8; nil values read as ""; trailing bytes are ignored.
        XCTAssertEqual(try SerfTags.decode(hex("ff 82 d9016b d90176 a161 c0 ffff")), ["k": "v", "a": ""])
        XCTAssertEqual(try SerfTags.decode(hex("ff c0")), [:])
        XCTAssertThrowsWireError(.unexpectedFormat(byte: 0xc4, offset: 4, expected: "a string"), try SerfTags.decode(hex("ff 81 a16b c40176")))
        XCTAssertEqual(XCTAssertThrowsAnyWireError(try SerfTags.decode(hex("ff 82 a16b")))?.isTruncation, true)
        XCTAssertEqual(XCTAssertThrowsAnyWireError(try SerfTags.decode(hex("ff")))?.isTruncation, true)
    }

    func testMetaLimit() throws {
        let fits = ["k": String(repeating: "v", count: 505)]   // ff 81 a16b da01f9 + 505 bytes = 512
        XCTAssertEqual(try SerfTags.encode(fits).count, 512)
        let tooBig = ["k": String(repeating: "v", count: 506)]
        XCTAssertThrowsWireError(.metaTooLarge(513, limit: 512), try SerfTags.encode(tooBig))
    }

    func testLeaveIntentAsSerfSendsIt() throws {
        let leave = SerfLeaveIntent(lTime: 5, node: "a")
        let expected = hex("00 83 a54c54696d65 05 a44e6f6465 a161 a55072756e65 c2")
        XCTAssertEqual(leave.encodedUserPayload(), expected)
        XCTAssertEqual(leave.packetMessage.encoded(), [8] + expected)
        XCTAssertEqual(try SerfLeaveIntent(userPayload: expected), leave)
        XCTAssertEqual(try GossipPacket.decode(leave.packetMessage.encoded(), keyring: nil).messages, [.user(expected)])

        // Serf's graceful leave pair: intent first, then dead-from-self.
        let pair = try GossipPacket.encode([leave.packetMessage, .dead(DeadMessage(incarnation: 1, node: "a", from: "a"))],
                                           options: PacketOptions(compress: false))
        XCTAssertEqual(Array(pair.prefix(2)), [7, 2])
    }

    func testJoinIntent() throws {
        let join = SerfJoinIntent(lTime: 300, node: "node1")
        let expected = hex("01 82 a54c54696d65 cd012c a44e6f6465 a56e6f646531")
        XCTAssertEqual(join.encodedUserPayload(), expected)
        XCTAssertEqual(try SerfJoinIntent(userPayload: expected), join)
        XCTAssertThrowsWireError(.unexpectedMessageType(1, expected: "Serf leave"), try SerfLeaveIntent(userPayload: expected))
        XCTAssertThrowsWireError(.emptyMessage, try SerfJoinIntent(userPayload: []))
    }
}
