@testable import EspyGossipWire
import XCTest

/// TCP streams: incremental decoding, encryption frames, refusals (spec §7, §8).
final class StreamFramingTests: XCTestCase {
    private let pushPull = StreamMessage.pushPull(SpecVectorTests.capturedJoinPushPull())

    func testEveryStrictPrefixNeedsMoreBytes() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let cases: [(StreamOptions, Keyring?)] = [
            (StreamOptions(compress: false), nil),
            (StreamOptions(compress: true), nil),
            (StreamOptions(compress: true, keyring: keyring), keyring),
        ]
        for (options, receiverKeyring) in cases {
            let wire = try StreamFraming.encode(pushPull, options: options)
            for length in 0..<wire.count {
                XCTAssertEqual(try StreamFraming.decode(Array(wire.prefix(length)), keyring: receiverKeyring), .needMoreBytes,
                               "prefix \(length) of \(wire.count), compress \(options.compress)")
            }
            XCTAssertEqual(try StreamFraming.decode(wire + [0xde, 0xad], keyring: receiverKeyring),
                           .complete(pushPull, consumedByteCount: wire.count), "trailing bytes are left unconsumed")
        }
    }

    func testEncryptedStreamAcrossKeyRotation() throws {
        let old: [UInt8] = Array(repeating: 7, count: 32)
        let sender = try Keyring(primaryKey: old)
        let receiver = try Keyring(primaryKey: Fixture.keyBytes, otherKeys: [old])
        let wire = try StreamFraming.encode(.user(ascii("hi")), options: StreamOptions(keyring: sender))
        XCTAssertEqual(Array(wire.prefix(1)), [MessageType.encrypt.rawValue])
        XCTAssertEqual(try StreamFraming.decode(wire, keyring: receiver), .complete(.user(ascii("hi")), consumedByteCount: wire.count))
        XCTAssertThrowsWireError(.noKeyDecrypts(keyCount: 1), try StreamFraming.decode(wire, keyring: try Keyring(primaryKey: Fixture.keyBytes)))

        // The padded version also frames correctly; the header length covers the padding.
        let padded = try StreamFraming.encode(.user(ascii("hi")), options: StreamOptions(keyring: sender, encryptionVersion: .padded))
        XCTAssertEqual(padded[5], EncryptionVersion.padded.rawValue)
        XCTAssertEqual(Array(padded[1..<5]), StreamFraming.frameHeader(blobLength: padded.count - 5).suffix(4))
        XCTAssertEqual((padded.count - 5 - 29) % 16, 0, "padded to whole AES blocks")
        XCTAssertEqual(try StreamFraming.decode(padded, keyring: receiver), .complete(.user(ascii("hi")), consumedByteCount: padded.count))
    }

    func testEncryptionMustMatchConfiguration() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let plain = try StreamFraming.encode(.ping(Fixture.pingB), options: StreamOptions())
        XCTAssertThrowsWireError(.encryptionRequired, try StreamFraming.decode(plain, keyring: keyring))
        XCTAssertThrowsWireError(.encryptionNotConfigured, try StreamFraming.decode(SpecVectorTests.tcpFrame, keyring: nil))
    }

    func testOversizedAndInvalidStreams() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        XCTAssertThrowsWireError(.frameTooLarge(20 * 1024 * 1024 + 1, limit: WireLimits.maximumStreamSize),
                                 try StreamFraming.decode(hex("0a 01400001"), keyring: keyring))
        XCTAssertEqual(try StreamFraming.decode(hex("0a 01400000"), keyring: keyring), .needMoreBytes, "exactly 20 MiB is allowed")
        XCTAssertThrowsWireError(.unexpectedMessageType(99, expected: "a stream message (ping, ack, push/pull, user or err)"),
                                 try StreamFraming.decode([99], keyring: nil))
        XCTAssertThrowsWireError(.unexpectedMessageType(5, expected: "a stream message (ping, ack, push/pull, user or err)"),
                                 try StreamFraming.decode(DeadMessage(incarnation: 1, node: "a", from: "a").encodedMessage(), keyring: nil))
        // A plain stream that claims more than the stream limit can never complete.
        let hugeUser = hex("08 81 aa557365724d73674c656e ce7fffffff") + Array(repeating: 0, count: 16)
        XCTAssertEqual(try StreamFraming.decode(hugeUser, keyring: nil), .needMoreBytes)
        let atLimit = hugeUser + Array(repeating: 0, count: WireLimits.maximumStreamSize - hugeUser.count)
        XCTAssertThrowsWireError(.frameTooLarge(WireLimits.maximumStreamSize, limit: WireLimits.maximumStreamSize),
                                 try StreamFraming.decode(atLimit, keyring: nil))
    }

    func testTruncationInsideCompleteContentIsAnErrorNotAWait() throws {
        // A compress message whose decompressed push/pull is cut short: more stream bytes cannot help.
        let cut = Array(SpecVectorTests.capturedJoinPushPull().encoded().dropLast(10))
        let wire = CompressMessage(compressing: cut).encodedMessage()
        let error = XCTAssertThrowsAnyWireError(try StreamFraming.decode(wire, keyring: nil))
        XCTAssertEqual(error?.isTruncation, false)
        XCTAssertTrue(error?.description.contains("ends early") ?? false, error?.description ?? "")

        // Same inside an encrypted frame.
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let frame = try StreamFraming.encryptFrame(cut, keyring: keyring)
        XCTAssertEqual(XCTAssertThrowsAnyWireError(try StreamFraming.decode(frame, keyring: keyring))?.isTruncation, false)

        // Empty decompressed content (a Go node would panic indexing its type byte).
        XCTAssertThrowsWireError(.emptyMessage, try StreamFraming.decode(CompressMessage(compressing: []).encodedMessage(), keyring: nil))
        // Go unwraps one compress layer on streams, not two.
        let twice = CompressMessage(compressing: CompressMessage(compressing: Fixture.pingB.encodedMessage()).encodedMessage()).encodedMessage()
        XCTAssertThrowsAnyWireError(try StreamFraming.decode(twice, keyring: nil))
    }

    func testAlwaysCompressesEvenWhenLonger() throws {
        let wire = try StreamFraming.encode(.ack(AckMessage(seqNo: 1)), options: StreamOptions(compress: true))
        XCTAssertEqual(wire.first, MessageType.compress.rawValue)
        XCTAssertGreaterThan(wire.count, AckMessage(seqNo: 1).encodedMessage().count)
    }

    func testPushPullHeaderCountsAreCheckedBeforeAllocating() {
        let hostile = hex("06 83 a44a6f696e c3 a54e6f646573 cf7fffffffffffffff ac5573657253746174654c656e 00")
        XCTAssertEqual(try StreamFraming.decode(hostile, keyring: nil), .needMoreBytes)
        XCTAssertThrowsWireError(.negativeInteger(-1, field: "push/pull Nodes"),
                                 try PushPullMessage(message: hex("06 81 a54e6f646573 ff")))
    }
}
