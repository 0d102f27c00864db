@testable import EspyGossipWire
import XCTest

/// Every hex vector of spec §15, decoded and re-encoded byte for byte.
final class SpecVectorTests: XCTestCase {
    // MARK: A. Captured ping

    static let capturedPing = hex("""
        00 85 a4 4e6f6465 a5 6e6f646533 a5 5365714e6f 02
        aa 536f7572636541646472 a4 7f000001
        aa 536f757263654e6f6465 a5 6e6f646531
        aa 536f75726365506f7274 cd 6d2a
        """)

    func testCapturedPingDecodesAndReencodes() throws {
        XCTAssertEqual(Self.capturedPing.count, 67)
        let ping = try PingMessage(message: Self.capturedPing)
        XCTAssertEqual(ping, PingMessage(seqNo: 2, node: "node3", sourceAddr: [127, 0, 0, 1], sourcePort: 27946, sourceNode: "node1"))
        XCTAssertEqual(ping.encodedMessage(), Self.capturedPing)
        XCTAssertEqual(try GossipPacket.decode(Self.capturedPing, keyring: nil).messages, [.ping(ping)])
    }

    // MARK: B. Captured ack with a 130-byte Serf coordinate payload

    func testCapturedAckShapeUsesStr16ForPayload() throws {
        var payload = hex("01 84")
        payload += [0xaa] + ascii("Adjustment") + hex("cb 3f04b11b7929cdde")
        payload += [0xa5] + ascii("Error") + hex("cb 3ff6fa62f3b526fa")
        payload += [0xa6] + ascii("Height") + hex("cb 3ee4f8b588e368f1")
        payload += [0xa3] + ascii("Vec") + [0x98]
        for index in 0..<8 { payload += [0xcb] + Array(repeating: UInt8(index), count: 8) }
        XCTAssertEqual(payload.count, 130)

        let ack = AckMessage(seqNo: 2, payload: payload)
        let encoded = ack.encodedMessage()
        XCTAssertEqual(encoded.count, 150)
        XCTAssertEqual(Array(encoded.prefix(13)), hex("02 82 a7 5061796c6f6164 da 0082"))
        XCTAssertEqual(Array(encoded.suffix(7)), hex("a5 5365714e6f 02"))
        XCTAssertEqual(try AckMessage(message: encoded), ack)
    }

    // MARK: C. Gossip with CRC

    static let suspectWithChecksum = hex("0cec4167fa0383a446726f6da56e6f646532ab496e6361726e6174696f6e01a44e6f6465a56e6f646533")

    func testSuspectWithChecksum() throws {
        let decoded = try GossipPacket.decode(Self.suspectWithChecksum, keyring: nil)
        let suspect = SuspectMessage(incarnation: 1, node: "node3", from: "node2")
        XCTAssertEqual(decoded, DecodedPacket(messages: [.suspect(suspect)], problems: [], hadChecksum: true))
        XCTAssertEqual(CRC32.checksum(Self.suspectWithChecksum.dropFirst(5)), 0xec41_67fa)
        let options = PacketOptions(compress: true, addChecksum: true)
        XCTAssertEqual(try GossipPacket.encode([.suspect(suspect)], options: options), Self.suspectWithChecksum)
    }

    // MARK: D. Compound ping + suspect to a suspect node

    func testCompoundPingAndSuspectWithChecksum() throws {
        var ping = try PingMessage(message: Self.capturedPing)
        ping.seqNo = 51
        let suspect = SuspectMessage(incarnation: 1, node: "node3", from: "node1")
        XCTAssertEqual(ping.encodedMessage().count, 67)
        XCTAssertEqual(suspect.encodedMessage().count, 37)

        let packet = try GossipPacket.encode([.ping(ping), .suspect(suspect)],
                                             options: PacketOptions(compress: true, addChecksum: true))
        XCTAssertEqual(packet.count, 115)
        XCTAssertEqual(Array(packet.prefix(11)), hex("0cae4559c5 07 02 0043 0025"))
        XCTAssertEqual(Array(packet[11..<78]), ping.encodedMessage())
        XCTAssertEqual(Array(packet[78...]), suspect.encodedMessage())

        let decoded = try GossipPacket.decode(packet, keyring: nil)
        XCTAssertEqual(decoded, DecodedPacket(messages: [.ping(ping), .suspect(suspect)], problems: [], hadChecksum: true))
    }

    // MARK: E. Captured indirect ping and nack

    func testCapturedIndirectPing() throws {
        let bytes = hex("0188a44e61636bc3a44e6f6465a56e6f646533a4506f7274cd6d2ca55365714e6f30aa536f7572636541646472a47f000001aa536f757263654e6f6465a56e6f646532aa536f75726365506f7274cd6d2ba6546172676574a47f000001")
        let indirect = try IndirectPingMessage(message: bytes)
        XCTAssertEqual(indirect, IndirectPingMessage(seqNo: 48, target: [127, 0, 0, 1], port: 27948, node: "node3", nack: true,
                                                     sourceAddr: [127, 0, 0, 1], sourcePort: 27947, sourceNode: "node2"))
        XCTAssertEqual(indirect.encodedMessage(), bytes)
    }

    func testCapturedNack() throws {
        let bytes = hex("0b81a55365714e6f32")
        XCTAssertEqual(try NackMessage(message: bytes), NackMessage(seqNo: 50))
        XCTAssertEqual(NackMessage(seqNo: 50).encodedMessage(), bytes)
    }

    // MARK: F. Canonical encodings

    /// Asserts both directions for one typed message.
    private func assertCanonical<Body: GossipMessageBody>(_ body: Body, _ hexText: String,
                                                          file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = hex(hexText)
        XCTAssertEqual(hexString(body.encodedMessage()), hexText, file: file, line: line)
        XCTAssertEqual(try Body(message: bytes), body, file: file, line: line)
        XCTAssertEqual(try Body(message: bytes).encodedMessage(), bytes, file: file, line: line)
    }

    func testCanonicalPing() throws {
        try assertCanonical(Fixture.pingB, "0085a44e6f6465a162a55365714e6f07aa536f7572636541646472a47f000001aa536f757263654e6f6465a161aa536f75726365506f7274cd1f0a")
    }

    func testCanonicalPingLeavesOutEmptySourceFields() throws {
        try assertCanonical(PingMessage(seqNo: 7, node: "b"), "0082a44e6f6465a162a55365714e6f07")
    }

    func testCanonicalAckWithNilAndEmptyPayload() throws {
        try assertCanonical(AckMessage(seqNo: 7, payload: nil), "0282a75061796c6f6164c0a55365714e6f07")
        try assertCanonical(AckMessage(seqNo: 7, payload: []), "0282a75061796c6f6164a0a55365714e6f07")
    }

    func testCanonicalIndirectPing() throws {
        let indirect = IndirectPingMessage(seqNo: 9, target: Fixture.localhost, port: 7947, node: "c", nack: true,
                                           sourceAddr: Fixture.localhost, sourcePort: 7946, sourceNode: "a")
        try assertCanonical(indirect, "0188a44e61636bc3a44e6f6465a163a4506f7274cd1f0ba55365714e6f09aa536f7572636541646472a47f000001aa536f757263654e6f6465a161aa536f75726365506f7274cd1f0aa6546172676574a47f000001")
    }

    func testCanonicalNackSuspectDead() throws {
        try assertCanonical(NackMessage(seqNo: 9), "0b81a55365714e6f09")
        try assertCanonical(SuspectMessage(incarnation: 3, node: "c", from: "a"), "0383a446726f6da161ab496e6361726e6174696f6e03a44e6f6465a163")
        let dead = DeadMessage(incarnation: 3, node: "c", from: "c")
        XCTAssertTrue(dead.isLeave)
        try assertCanonical(dead, "0583a446726f6da163ab496e6361726e6174696f6e03a44e6f6465a163")
    }

    func testCanonicalAliveAndItsChecksum() throws {
        try assertCanonical(Fixture.aliveA, Fixture.aliveHex)
        XCTAssertEqual(CRC32.checksum(hex(Fixture.aliveHex)), 0x2737_edfa)
    }

    func testCanonicalCompressedAlive() throws {
        let expected = hex("0982a4416c676f00a3427566da00430009182215840c1939a4fe0000106055123763c2c87113864e9a376e02906a52864e1860a49cbc21532654185250dec8a1d3ec83825156e6b83115a0800001050a0404")
        let compressed = CompressMessage(compressing: hex(Fixture.aliveHex))
        XCTAssertEqual(hexString(compressed.encodedMessage()), hexString(expected))
        XCTAssertEqual(try CompressMessage(message: expected).decompressed(maximumSize: 1 << 16), hex(Fixture.aliveHex))
        // As a packet it is longer than the original, so a sender keeps the plain alive.
        XCTAssertEqual(try GossipPacket.encode(hex(Fixture.aliveHex), options: PacketOptions(compress: true)), hex(Fixture.aliveHex))
        XCTAssertEqual(try GossipPacket.decode(expected, keyring: nil).messages, [.alive(Fixture.aliveA)])
    }

    func testCanonicalCompoundOfAliveAndUser() throws {
        let expected = hex("07 02 0039 0003") + hex(Fixture.aliveHex) + hex("080102")
        let built = try Compound.encode([hex(Fixture.aliveHex), hex("080102")])
        XCTAssertEqual(built, expected)
        XCTAssertEqual(Array(built.prefix(6)), hex("070200390003"))
        XCTAssertEqual(try Compound.split(built), CompoundParts(parts: [hex(Fixture.aliveHex), hex("080102")], truncatedPartCount: 0))
        XCTAssertEqual(try GossipPacket.decode(built, keyring: nil).messages, [.alive(Fixture.aliveA), .user([0x01, 0x02])])
    }

    func testCanonicalPushPullPieces() throws {
        try assertCanonical(PushPullHeader(nodes: 1, userStateLen: 0, join: true), "0683a44a6f696ec3a54e6f64657301ac5573657253746174654c656e00")

        let stateHex = "87a441646472a47f000001ab496e6361726e6174696f6e01a44d657461a2ff80a44e616d65a161a4506f7274cd1f0aa5537461746500a356736ea6010502020505"
        let state = PushNodeState(name: "a", addr: Fixture.localhost, port: 7946, meta: [0xff, 0x80], incarnation: 1,
                                  state: .alive, versions: .serfAgent)
        XCTAssertEqual(hexString(state.msgpackEncoded()), stateHex)
        XCTAssertEqual(try PushNodeState(msgpack: hex(stateHex)), state)
    }

    func testCanonicalErrorAndUserHeader() throws {
        try assertCanonical(ErrorMessage(error: "x"), "0d81a54572726f72a178")
        try assertCanonical(UserMessageHeader(userMsgLen: 3), "0881aa557365724d73674c656e03")
        XCTAssertEqual(StreamMessage.user([1, 2, 3]).encoded(), hex("0881aa557365724d73674c656e03 010203"))
    }

    // MARK: G. AES-GCM

    static let udpV1 = hex("01101112131415161718191a1b7d7b3c5826ad5f12a8d05b787e3706547d03217b69a132f0839d90c3215454dafaba387687c50ba11152f7f0eb32407466ce2416b3e42b8671013082d905c9da826c8e318c5ee452b408bc")
    static let udpV0 = hex("00101112131415161718191a1b7d7b3c5826ad5f12a8d05b787e3706547d03217b69a132f0839d90c3215454dafaba387687c50ba11152f7f0eb32407466ce2416b3e42b8671013034f692a16e6c188ed0df6c8c2eea639eab7675f454")
    static let tcpFrame = hex("0a0000005801101112131415161718191a1b7d7b3c5826ad5f12a8d05b787e3706547d03217b69a132f0839d90c3215454dafaba387687c50ba11152f7f0eb32407466ce2416b3e42b867101304f4e09a966a8e017581824a723dbb337")

    func testEncryptedUDPVersion1() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let ping = Fixture.pingB.encodedMessage()
        XCTAssertEqual(ping.count, 59)
        XCTAssertEqual(try keyring.decrypt(Self.udpV1), ping)
        XCTAssertEqual(try keyring.encrypt(ping, version: .unpadded, nonce: Fixture.nonce), Self.udpV1)
        let options = PacketOptions(compress: true, keyring: keyring)
        XCTAssertEqual(try GossipPacket.encode([.ping(Fixture.pingB)], options: options, nonce: Fixture.nonce), Self.udpV1)
        XCTAssertEqual(try GossipPacket.decode(Self.udpV1, keyring: keyring).messages, [.ping(Fixture.pingB)])
    }

    func testEncryptedUDPVersion0IsPadded() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let ping = Fixture.pingB.encodedMessage()
        XCTAssertEqual(Self.udpV0.count, 1 + 12 + 64 + 16)
        XCTAssertEqual(try keyring.decrypt(Self.udpV0), ping)
        XCTAssertEqual(try keyring.encrypt(ping, version: .padded, nonce: Fixture.nonce), Self.udpV0)
    }

    func testEncryptedTCPFrame() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let ping = Fixture.pingB.encodedMessage()
        XCTAssertEqual(try StreamFraming.encryptFrame(ping, keyring: keyring, nonce: Fixture.nonce), Self.tcpFrame)
        let options = StreamOptions(compress: false, keyring: keyring)
        XCTAssertEqual(try StreamFraming.encode(.ping(Fixture.pingB), options: options, nonce: Fixture.nonce), Self.tcpFrame)
        XCTAssertEqual(try StreamFraming.decode(Self.tcpFrame, keyring: keyring),
                       .complete(.ping(Fixture.pingB), consumedByteCount: Self.tcpFrame.count))
        // The 5 header bytes are the additional data: the UDP form (empty AD) must not open as TCP.
        XCTAssertThrowsWireError(.noKeyDecrypts(keyCount: 1), try keyring.decrypt(Array(Self.tcpFrame.dropFirst(5))))
    }

    // MARK: H. Captured TCP join push/pull

    static func capturedJoinPushPull() -> PushPullMessage {
        var serfState = hex("02 86") + [0xaa] + ascii("EventLTime") + [0x01]
        serfState += [0xa6] + ascii("Events") + hex("dc 0200") + Array(repeating: 0xc0, count: 512)
        serfState += [0xa5] + ascii("LTime") + [0x01]
        serfState += [0xab] + ascii("LeftMembers") + [0x90]
        serfState += [0xaa] + ascii("QueryLTime") + [0x01]
        serfState += [0xac] + ascii("StatusLTimes") + [0x81, 0xa5] + ascii("node2") + [0x00]
        let meta = hex("ff82") + [0xa4] + ascii("role") + [0xa2] + ascii("r2") + [0xa4] + ascii("zone") + [0xa1] + ascii("z")
        let node2 = PushNodeState(name: "node2", addr: Fixture.localhost, port: 27947, meta: meta, incarnation: 1,
                                  state: .alive, versions: .serfAgent)
        return PushPullMessage(join: true, nodes: [node2], userState: serfState)
    }

    func testCapturedJoinPushPullCompressesLikeSerf() throws {
        let message = Self.capturedJoinPushPull()
        XCTAssertEqual(message.userState.count, 589)
        let plain = message.encoded()
        XCTAssertEqual(plain.count, 704)
        XCTAssertEqual(Array(plain.prefix(31)), hex("06 83 a44a6f696e c3 a54e6f646573 01 ac5573657253746174654c656e cd024d"))

        let lzw = LZW.compress(plain)
        XCTAssertEqual(lzw.count, 218)
        XCTAssertEqual(Array(lzw.prefix(12)), hex("000d0c22a5e44d1a37c34a39"))
        XCTAssertEqual(Array(lzw.suffix(3)), hex("000101"))

        let wire = try StreamFraming.encode(.pushPull(message), options: StreamOptions(compress: true))
        XCTAssertEqual(wire.count, 233)
        XCTAssertEqual(Array(wire.prefix(15)), hex("09 82 a4416c676f 00 a3427566 da 00da"))
        XCTAssertEqual(try StreamFraming.decode(wire, keyring: nil), .complete(.pushPull(message), consumedByteCount: 233))
        XCTAssertEqual(try SerfTags.decode(message.nodes[0].meta), ["role": "r2", "zone": "z"])
    }

    // MARK: §9 LZW vectors

    func testLZWVectors() throws {
        let vectors: [(String, String)] = [
            ("", "000302"),
            ("a", "00c30404"),
            ("TOBEORNOTTOBEORTOBEORNOT", "00a93c1152e48914274fa80824687061c183090302"),
        ]
        for (input, compressed) in vectors {
            XCTAssertEqual(hexString(LZW.compress(ascii(input))), compressed, "compress \(input)")
            XCTAssertEqual(try LZW.decompress(hex(compressed), maximumOutputSize: 100), ascii(input), "decompress \(input)")
        }
    }

    // MARK: §13 Serf meta

    func testSerfTagVectors() throws {
        XCTAssertEqual(try SerfTags.encode([:]), hex("ff80"))
        let tags = hex("ff82") + [0xa4] + ascii("role") + [0xa2] + ascii("r1") + [0xa4] + ascii("zone") + [0xa1] + ascii("z")
        XCTAssertEqual(try SerfTags.encode(["zone": "z", "role": "r1"]), tags)
        XCTAssertEqual(try SerfTags.decode(tags), ["role": "r1", "zone": "z"])
    }
}
