@testable import EspyGossipWire
import EspyTestRandom
import XCTest

/// Seeded mutation fuzzing: valid packets and streams with bit flips, truncations,
/// insertions and hostile bytes, fed to every decoder. Nothing may crash, every call must
/// finish quickly, and results must stay within the documented limits.
final class FuzzTests: XCTestCase {
    private static let iterations = 4000
    /// Generous for a debug build on a shared 2-core machine; the point is "no runaway".
    private static let slowestAllowedCall = Duration.seconds(2)

    private func corpus(keyring: Keyring) throws -> [[UInt8]] {
        let fullStack = try GossipPacket.encode(
            [.ack(AckMessage(seqNo: 7, payload: Array(repeating: 0, count: 90))), .alive(Fixture.aliveA),
             .suspect(SuspectMessage(incarnation: 3, node: "c", from: "a")), .user(hex("000102"))],
            options: PacketOptions(compress: true, addChecksum: true))
        return [
            SpecVectorTests.capturedPing,
            SpecVectorTests.suspectWithChecksum,
            hex(Fixture.aliveHex),
            CompressMessage(compressing: hex(Fixture.aliveHex)).encodedMessage(),
            try Compound.encode([hex(Fixture.aliveHex), hex("080102"), NackMessage(seqNo: 9).encodedMessage()]),
            IndirectPingMessage(seqNo: 9, target: Fixture.localhost, port: 7947, node: "c", nack: true).encodedMessage(),
            fullStack,
            SpecVectorTests.capturedJoinPushPull().encoded(),
            try StreamFraming.encode(.pushPull(SpecVectorTests.capturedJoinPushPull()), options: StreamOptions()),
            StreamMessage.user(ascii("payload")).encoded(),
            try SerfTags.encode(["role": "r1", "zone": "z"]),
            SerfLeaveIntent(lTime: 5, node: "a").encodedUserPayload(),
            SpecVectorTests.udpV1,
            SpecVectorTests.tcpFrame,
        ]
    }

    func testMutatedInputsNeverCrashAndStayBounded() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let seeds = try corpus(keyring: keyring)
        var generator = SplitMix64(seed: 0x5eed_cafe)
        var packetsWithMessages = 0, packetsRejected = 0, streamsComplete = 0
        let clock = ContinuousClock()

        for iteration in 0..<Self.iterations {
            var input = seeds[iteration % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                mutate(&input, using: &generator)
            }
            // A quarter of the time, fuzz what lies under the encryption layer.
            let encrypted = iteration % 4 == 3
            let packetBytes = encrypted && !input.isEmpty ? try keyring.encrypt(input) : input
            let streamBytes = encrypted && !input.isEmpty ? try StreamFraming.encryptFrame(input, keyring: keyring) : input
            let packetKeyring = encrypted ? keyring : nil

            let start = clock.now
            if let decoded = try? GossipPacket.decode(packetBytes, keyring: packetKeyring) {
                let reachable = input.count + WireLimits.maximumPacketDecompressedSize
                XCTAssertLessThanOrEqual(decoded.messages.count + decoded.problems.count, reachable)
                if !decoded.messages.isEmpty { packetsWithMessages += 1 }
            } else {
                packetsRejected += 1
            }
            if case .complete(_, let consumed)? = try? StreamFraming.decode(streamBytes, keyring: packetKeyring) {
                XCTAssertLessThanOrEqual(consumed, streamBytes.count)
                streamsComplete += 1
            }
            _ = try? PacketMessage(message: input)
            _ = try? PushPullMessage(message: input)
            _ = try? Compound.split(input)
            _ = try? SerfTags.decode(input)
            _ = try? SerfLeaveIntent(userPayload: input)
            if let output = try? LZW.decompress(input, maximumOutputSize: WireLimits.maximumPacketDecompressedSize) {
                XCTAssertLessThanOrEqual(output.count, WireLimits.maximumPacketDecompressedSize)
            }
            var reader = MsgpackReader(input)
            while (try? reader.skipValue()) != nil, !reader.isAtEnd {}
            let elapsed = clock.now - start
            XCTAssertLessThan(elapsed, Self.slowestAllowedCall, "iteration \(iteration) took \(elapsed): \(hexString(input))")
        }
        // The fuzzer must exercise both outcomes, or it is not testing anything.
        XCTAssertGreaterThan(packetsWithMessages, Self.iterations / 20)
        XCTAssertGreaterThan(packetsRejected, Self.iterations / 20)
        XCTAssertGreaterThan(streamsComplete, Self.iterations / 50)
    }

    func testRandomGarbageNeverCrashes() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let input = generator.bytes(Int.random(in: 0...300, using: &generator))
            _ = try? GossipPacket.decode(input, keyring: nil)
            _ = try? StreamFraming.decode(input, keyring: nil)
            _ = try? LZW.decompress(input, maximumOutputSize: 1 << 20)
            _ = try? SerfTags.decode(input)
            _ = try? PushPullMessage(message: [6] + input)
            _ = try? CompressMessage(msgpack: input).decompressed(maximumSize: 1 << 20)
        }
    }

    /// Bytes that steer decoders into their riskiest branches: type bytes, big length
    /// prefixes, nil, and container markers.
    private static let interestingBytes: [UInt8] = [
        0x00, 0x01, 0x07, 0x09, 0x0a, 0x0c, 0x7f, 0x80, 0x8f, 0x9f, 0xbf, 0xc0, 0xc1, 0xc4, 0xc5, 0xc6,
        0xc7, 0xc9, 0xcf, 0xd3, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff,
    ]

    private func mutate(_ bytes: inout [UInt8], using generator: inout SplitMix64) {
        switch Int.random(in: 0..<5, using: &generator) {
        case 0 where !bytes.isEmpty:   // flip one bit
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &generator)
        case 1 where !bytes.isEmpty:   // truncate
            bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator))
        case 2:                        // insert random bytes
            let index = Int.random(in: 0...bytes.count, using: &generator)
            bytes.insert(contentsOf: generator.bytes(Int.random(in: 1...8, using: &generator)), at: index)
        case 3 where !bytes.isEmpty:   // overwrite with a hostile marker, often followed by 0xff lengths
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] = Self.interestingBytes.randomElement(using: &generator)!
            if Bool.random(using: &generator) {
                for offset in 1...4 where index + offset < bytes.count { bytes[index + offset] = 0xff }
            }
        case 4 where bytes.count > 1:  // duplicate a slice
            let start = Int.random(in: 0..<bytes.count, using: &generator)
            let end = Int.random(in: start...bytes.count, using: &generator)
            bytes.insert(contentsOf: bytes[start..<end], at: end)
        default:
            bytes.append(UInt8.random(in: 0...255, using: &generator))
        }
    }
}
