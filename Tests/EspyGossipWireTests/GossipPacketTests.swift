@testable import EspyGossipWire
import XCTest

/// UDP layering: compress only when shorter, outermost hasCrc, encryption, nested wrappers.
final class GossipPacketTests: XCTestCase {
    private let suspect = SuspectMessage(incarnation: 3, node: "c", from: "a")

    func testFullStackRoundTrip() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let messages: [PacketMessage] = [.ack(AckMessage(seqNo: 7, payload: Array(repeating: 0, count: 100))),
                                         .alive(Fixture.aliveA), .suspect(suspect), .user(hex("0001"))]
        let options = PacketOptions(compress: true, addChecksum: true, keyring: keyring)
        let packet = try GossipPacket.encode(messages, options: options)
        XCTAssertEqual(try GossipPacket.decode(packet, keyring: keyring),
                       DecodedPacket(messages: messages, problems: [], hadChecksum: true))

        let plain = try keyring.decrypt(packet)
        XCTAssertEqual(plain[0], MessageType.hasCrc.rawValue)
        XCTAssertEqual(plain[5], MessageType.compress.rawValue, "a compressible compound is sent compressed")
    }

    func testCompressionOnlyWhenStrictlyShorter() throws {
        let small = PacketMessage.nack(NackMessage(seqNo: 1))
        XCTAssertEqual(try GossipPacket.encode([small], options: PacketOptions(compress: true)), small.encoded())
        let zeros = PacketMessage.ack(AckMessage(seqNo: 1, payload: Array(repeating: 0, count: 300)))
        let packet = try GossipPacket.encode([zeros], options: PacketOptions(compress: true))
        XCTAssertEqual(packet.first, MessageType.compress.rawValue)
        XCTAssertLessThan(packet.count, zeros.encoded().count)
        XCTAssertEqual(try GossipPacket.encode([zeros], options: PacketOptions(compress: false)), zeros.encoded())
        XCTAssertThrowsWireError(.emptyMessage, try GossipPacket.encode([UInt8](), options: PacketOptions()))
        XCTAssertThrowsWireError(.emptyMessage, try GossipPacket.encode([PacketMessage](), options: PacketOptions()))
    }

    func testChecksumMismatchDropsThePacket() {
        var packet = SpecVectorTests.suspectWithChecksum
        packet[packet.count - 1] ^= 0x01
        let computed = CRC32.checksum(packet.dropFirst(5))
        XCTAssertThrowsWireError(.checksumMismatch(expected: 0xec41_67fa, computed: computed), try GossipPacket.decode(packet, keyring: nil))
    }

    func testHasCrcCountsOnlyOutermost() throws {
        let inner = [MessageType.hasCrc.rawValue] + hex("00000000") + NackMessage(seqNo: 1).encodedMessage()
        let compound = try Compound.encode([inner, NackMessage(seqNo: 2).encodedMessage()])
        XCTAssertEqual(try GossipPacket.decode(compound, keyring: nil),
                       DecodedPacket(messages: [.nack(NackMessage(seqNo: 2))], problems: [.unsupportedInPacket(12)], hadChecksum: false))
        // Shorter than the 5-byte header: not a checksum, just an unsupported type.
        XCTAssertEqual(try GossipPacket.decode([12, 0, 0], keyring: nil).problems, [.unsupportedInPacket(12)])
    }

    func testBadPartsAreSkippedNotFatal() throws {
        var truncated = try Compound.encode([NackMessage(seqNo: 1).encodedMessage(), NackMessage(seqNo: 2).encodedMessage(),
                                             NackMessage(seqNo: 3).encodedMessage()])
        truncated.removeLast(3)
        XCTAssertEqual(try GossipPacket.decode(truncated, keyring: nil),
                       DecodedPacket(messages: [.nack(NackMessage(seqNo: 1)), .nack(NackMessage(seqNo: 2))],
                                     problems: [.truncatedCompoundParts(1)], hadChecksum: false))

        // A zero-length part (which would panic a Go node), an unknown type and a broken body.
        let handmade = hex("07 04 0000 0001 0002 0009") + [99] + hex("0b 81") + NackMessage(seqNo: 4).encodedMessage()
        let decoded = try GossipPacket.decode(handmade, keyring: nil)
        XCTAssertEqual(decoded.messages, [.nack(NackMessage(seqNo: 4))])
        XCTAssertEqual(decoded.problems.count, 3)
        XCTAssertEqual(decoded.problems[0], .emptyMessage)
        XCTAssertEqual(decoded.problems[1], .unsupportedInPacket(99))
        XCTAssertTrue(decoded.problems[2].isTruncation)
    }

    func testWrappersNestButNotWithoutBound() throws {
        var payload = NackMessage(seqNo: 8).encodedMessage()
        for level in 0..<WireLimits.maximumPacketNesting {
            payload = level % 2 == 0 ? CompressMessage(compressing: payload).encodedMessage() : try Compound.encode([payload])
        }
        XCTAssertEqual(try GossipPacket.decode(payload, keyring: nil).messages, [.nack(NackMessage(seqNo: 8))])

        let tooDeep = try Compound.encode([payload])
        XCTAssertEqual(try GossipPacket.decode(tooDeep, keyring: nil),
                       DecodedPacket(messages: [], problems: [.nestingTooDeep(limit: WireLimits.maximumPacketNesting)], hadChecksum: false))
    }

    func testDecompressionBudgetCoversWholePacket() throws {
        // Two parts of 600 KiB each: each alone fits the 1 MiB budget, together they do not.
        let big = PacketMessage.user(Array(repeating: 0, count: 600 * 1024)).encoded()
        let part = CompressMessage(compressing: big).encodedMessage()
        XCTAssertLessThan(part.count, 2000)
        let decoded = try GossipPacket.decode(try Compound.encode([part, part]), keyring: nil)
        XCTAssertEqual(decoded.messages.count, 1)
        XCTAssertEqual(decoded.problems, [.outputLimitExceeded(limit: WireLimits.maximumPacketDecompressedSize - big.count, what: "LZW output")])
    }

    func testCompoundRules() throws {
        let parts = (0..<WireLimits.maximumCompoundParts).map { NackMessage(seqNo: UInt32($0)).encodedMessage() }
        let built = try Compound.encode(parts)
        XCTAssertEqual(built.count, Compound.headerOverhead + parts.count * Compound.perPartOverhead + parts.reduce(0) { $0 + $1.count })
        XCTAssertEqual(try Compound.split(built).parts, parts)
        XCTAssertThrowsWireError(.tooManyCompoundParts(128, limit: 127), try Compound.encode(parts + [parts[0]]))
        XCTAssertThrowsWireError(.emptyMessage, try Compound.encode([[]]))
        XCTAssertThrowsWireError(.compoundPartTooLong(65536), try Compound.encode([Array(repeating: 8, count: 65536)]))
        XCTAssertEqual(try Compound.split(hex("0700")), CompoundParts(parts: [], truncatedPartCount: 0))

        // Receiving 200 parts works (Go's 8-bit arithmetic bug is not copied).
        var manual: [UInt8] = [7, 200]
        for _ in 0..<200 { manual += [0, 1] }
        manual += Array(repeating: 8, count: 200)
        XCTAssertEqual(try Compound.split(manual).parts.count, 200)

        XCTAssertThrowsWireError(.truncated(needed: 1, available: 0, reading: "compound part count"), try Compound.split([7]))
        XCTAssertThrowsWireError(.truncated(needed: 4, available: 3, reading: "compound length table"), try Compound.split(hex("07 02 000100")))
        XCTAssertThrowsWireError(.unexpectedMessageType(8, expected: "compound"), try Compound.split([8]))
    }

    func testWholePacketFailures() throws {
        XCTAssertThrowsWireError(.emptyMessage, try GossipPacket.decode([], keyring: nil))
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        // A plaintext packet reaching an encrypting node: byte 0 reads as version 0, and no key opens it.
        XCTAssertThrowsWireError(.noKeyDecrypts(keyCount: 1),
                                 try GossipPacket.decode(Fixture.pingB.encodedMessage(), keyring: keyring))
    }

    func testClaimsAboutAnEmptyNodeNameAreDroppedAsProblems_andTheRestOfThePacketStays() throws {
        var nameless = Fixture.aliveA
        nameless.node = ""
        let messages: [PacketMessage] = [.alive(nameless), .suspect(SuspectMessage(incarnation: 1, node: "", from: "a")),
                                         .dead(DeadMessage(incarnation: 1, node: "", from: "a")), .suspect(suspect)]
        let decoded = try GossipPacket.decode(GossipPacket.encode(messages, options: PacketOptions()), keyring: nil)
        XCTAssertEqual(decoded.messages, [.suspect(suspect)])
        XCTAssertEqual(decoded.problems.count, 3)
        XCTAssertTrue(decoded.problems.allSatisfy { "\($0)".contains("node name: empty or missing") }, "\(decoded.problems)")
    }
}
