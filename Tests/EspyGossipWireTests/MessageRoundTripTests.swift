@testable import EspyGossipWire
import XCTest

/// Every message type survives encode → decode unchanged, including edge values.
final class MessageRoundTripTests: XCTestCase {
    private let ipv4Mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]

    private func assertRoundTrip<Body: GossipMessageBody>(_ body: Body, file: StaticString = #filePath, line: UInt = #line) throws {
        let encoded = body.encodedMessage()
        XCTAssertEqual(encoded.first, Body.messageType.rawValue, file: file, line: line)
        XCTAssertEqual(try Body(message: encoded), body, file: file, line: line)
    }

    func testProbeMessages() throws {
        try assertRoundTrip(PingMessage(seqNo: 0, node: ""))
        try assertRoundTrip(PingMessage(seqNo: .max, node: "ü-node", sourceAddr: ipv4Mapped, sourcePort: .max, sourceNode: "me"))
        try assertRoundTrip(IndirectPingMessage(seqNo: 1, target: ipv4Mapped, port: 7946, node: "t", nack: false))
        try assertRoundTrip(IndirectPingMessage(seqNo: .max, target: [10, 0, 0, 1], port: 1, node: "t", nack: true,
                                                sourceAddr: [10, 0, 0, 2], sourcePort: 2, sourceNode: "s"))
        try assertRoundTrip(AckMessage(seqNo: 1, payload: nil))
        try assertRoundTrip(AckMessage(seqNo: 1, payload: []))
        try assertRoundTrip(AckMessage(seqNo: 1, payload: Array(repeating: 7, count: 70_000)))
        try assertRoundTrip(NackMessage(seqNo: 123_456))
    }

    func testMembershipMessages() throws {
        try assertRoundTrip(SuspectMessage(incarnation: .max, node: "n", from: "f"))
        try assertRoundTrip(DeadMessage(incarnation: 0, node: "d", from: ""))
        try assertRoundTrip(AliveMessage(incarnation: 2, node: "swift", addr: ipv4Mapped, port: 27946,
                                         meta: try SerfTags.encode(["role": "py"])))
        try assertRoundTrip(AliveMessage(incarnation: 2, node: "x", addr: [1, 2, 3, 4], port: 0, meta: [], versions: nil))
        let custom = ProtocolVersions(protocolMin: 1, protocolMax: 5, protocolCurrent: 2, delegateMin: 2, delegateMax: 5, delegateCurrent: 4)
        try assertRoundTrip(AliveMessage(incarnation: 9, node: "y", addr: [1, 2, 3, 4], port: 1, meta: nil, versions: custom))
    }

    func testStreamBodies() throws {
        try assertRoundTrip(PushPullHeader(nodes: 0, userStateLen: 0, join: false))
        try assertRoundTrip(PushPullHeader(nodes: 300, userStateLen: 70_000, join: true))
        try assertRoundTrip(UserMessageHeader(userMsgLen: 0))
        try assertRoundTrip(ErrorMessage(error: String(repeating: "e", count: 40)))
        try assertRoundTrip(CompressMessage(compressing: Array(repeating: 1, count: 1000)))
        for state in [MemberState.alive, .suspect, .dead, .left, MemberState(rawValue: 7)] {
            let node = PushNodeState(name: "n", addr: [1, 2, 3, 4], port: 5, meta: [0xff, 0x80], incarnation: 6, state: state)
            XCTAssertEqual(try PushNodeState(msgpack: node.msgpackEncoded()), node)
        }
    }

    func testPushPullMessageWithNodesAndUserState() throws {
        let nodes = (0..<40).map {
            PushNodeState(name: "node\($0)", addr: [10, 0, 0, UInt8($0)], port: 7946, meta: nil, incarnation: UInt32($0),
                          state: MemberState(rawValue: Int64($0 % 4)))
        }
        let message = PushPullMessage(join: false, nodes: nodes, userState: [2, 0x80])
        let encoded = message.encoded()
        XCTAssertEqual(try PushPullMessage(message: encoded), message)
        XCTAssertEqual(try PushPullMessage(message: encoded + [9, 9]), message, "trailing bytes are ignored")
        XCTAssertEqual(try PushPullMessage(message: PushPullMessage(join: true, nodes: []).encoded()),
                       PushPullMessage(join: true, nodes: [], userState: []), "Nodes: 0 from a fresh node is fine")
    }

    func testEveryPacketMessageCase() throws {
        let messages: [PacketMessage] = [
            .ping(Fixture.pingB), .indirectPing(IndirectPingMessage(seqNo: 1, target: [1, 2, 3, 4], port: 2, node: "n", nack: true)),
            .ack(AckMessage(seqNo: 3)), .nack(NackMessage(seqNo: 4)), .suspect(SuspectMessage(incarnation: 1, node: "n", from: "f")),
            .alive(Fixture.aliveA), .dead(DeadMessage(incarnation: 1, node: "n", from: "n")), .user([]), .user([3, 1, 2]),
        ]
        for message in messages {
            let encoded = message.encoded()
            XCTAssertEqual(encoded.first, message.messageType.rawValue)
            XCTAssertEqual(try PacketMessage(message: encoded), message)
        }
    }

    func testEveryStreamMessageCase() throws {
        let messages: [StreamMessage] = [
            .ping(Fixture.pingB), .ack(AckMessage(seqNo: 3)), .user([1, 2, 3]), .user([]), .error(ErrorMessage(error: "boom")),
            .pushPull(PushPullMessage(join: true, nodes: [PushNodeState(name: "a", addr: [1, 1, 1, 1], port: 1, meta: nil,
                                                                         incarnation: 1, state: .alive)], userState: [1])),
        ]
        for message in messages {
            for compress in [false, true] {
                let wire = try StreamFraming.encode(message, options: StreamOptions(compress: compress))
                XCTAssertEqual(wire.first, compress ? MessageType.compress.rawValue : message.encoded()[0])
                XCTAssertEqual(try StreamFraming.decode(wire, keyring: nil), .complete(message, consumedByteCount: wire.count))
            }
        }
    }

    func testVsnLengthRules() throws {
        func alive(vsn: String) -> [UInt8] {
            hex("04 82 a4 4e6f6465 a1 6e a3 56736e") + hex(vsn) // {"Node": "n", "Vsn": …}
        }
        XCTAssertNil(try AliveMessage(message: alive(vsn: "c0")).versions, "nil Vsn means no versions")
        XCTAssertNil(try AliveMessage(message: alive(vsn: "a0")).versions)
        XCTAssertEqual(try AliveMessage(message: alive(vsn: "a7 01050202050509")).versions, .serfAgent, "extra bytes ignored as in Go")
        XCTAssertThrowsWireError(.invalidField("alive Vsn", "3 bytes; memberlist needs exactly 6"),
                                 try AliveMessage(message: alive(vsn: "a3 010502")))
        XCTAssertEqual(ProtocolVersions.serfAgent.bytes, [1, 5, 2, 2, 5, 5])
    }

    func testMessageTypeNumbersAreTheProtocol() {
        XCTAssertEqual(MessageType.allCases.map(\.rawValue), Array(0...13))
        XCTAssertEqual(MessageType.hasCrc.rawValue, 12)
        XCTAssertEqual(SerfMessageType.allCases.map(\.rawValue), Array(0...9))
    }

    func testTypedDecodeChecksTheTypeByte() {
        XCTAssertThrowsWireError(.unexpectedMessageType(3, expected: "ping"), try PingMessage(message: [3, 0x80]))
        XCTAssertThrowsWireError(.emptyMessage, try PingMessage(message: []))
        XCTAssertThrowsWireError(.unsupportedInPacket(6), try PacketMessage(message: hex("0683a44a6f696ec3a54e6f64657301ac5573657253746174654c656e00")))
        XCTAssertThrowsWireError(.unsupportedInPacket(99), try PacketMessage(message: [99]))
    }
}
