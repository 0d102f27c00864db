@testable import EspyGossipWire
import EspyTestRandom
import XCTest

/// Keyring, blob versions and every way decryption must refuse (spec §7).
final class EncryptionTests: XCTestCase {
    private let secondKey: [UInt8] = Array(repeating: 0x42, count: 16)

    func testKeyringFromBase64AsSerfKeygenPrintsIt() throws {
        let printed = Keyring.base64(Fixture.keyBytes)
        XCTAssertEqual(printed, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        let keyring = try Keyring(base64Keys: [printed, "QkJCQkJCQkJCQkJCQkJCQg==", printed])
        XCTAssertEqual(keyring.keys, [Fixture.keyBytes, secondKey], "primary first, duplicates dropped")
        XCTAssertEqual(keyring.primaryKey, Fixture.keyBytes)
        XCTAssertEqual(try Keyring(base64Keys: ["QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC\n"]).primaryKey.count, 24, "newline skipped; AES-192")
    }

    func testKeyringRejectsBadKeys() {
        XCTAssertThrowsWireError(.emptyKeyring, try Keyring(base64Keys: []))
        XCTAssertThrowsWireError(.invalidKeyLength(15), try Keyring(primaryKey: Array(repeating: 1, count: 15)))
        XCTAssertThrowsWireError(.invalidKeyLength(33), try Keyring(primaryKey: Fixture.keyBytes, otherKeys: [Array(repeating: 1, count: 33)]))
        XCTAssertThrowsWireError(.invalidBase64("character 0x2a"), try Keyring(base64Keys: ["AAEC*wQF"]))
        XCTAssertThrowsWireError(.invalidBase64("length 3 with 0 padding character(s)"), try Keyring(base64Keys: ["AAE"]))
        XCTAssertThrowsWireError(.invalidBase64("data after padding"), try Keyring(base64Keys: ["AA==AA=="]))
    }

    func testBase64RoundTripsEveryLength() throws {
        var generator = SplitMix64(seed: 64)
        for length in 0..<40 {
            let bytes = generator.bytes(length)
            XCTAssertEqual(try Base64.decode(Base64.encode(bytes)), bytes)
        }
        XCTAssertEqual(Base64.encode(ascii("any carnal pleasure.")), "YW55IGNhcm5hbCBwbGVhc3VyZS4=")
    }

    func testDecryptTriesEveryKey() throws {
        let sender = try Keyring(primaryKey: secondKey)
        let receiver = try Keyring(primaryKey: Fixture.keyBytes, otherKeys: [secondKey])
        let blob = try sender.encrypt(ascii("hello"), nonce: Fixture.nonce)
        XCTAssertEqual(blob.count, 5 + EncryptionVersion.unpadded.maximumOverhead)
        XCTAssertEqual(try receiver.decrypt(blob), ascii("hello"))
        XCTAssertThrowsWireError(.noKeyDecrypts(keyCount: 1), try Keyring(primaryKey: Fixture.keyBytes).decrypt(blob))
        // UDP packets are sealed under the same rules.
        let packet = try GossipPacket.encode([.nack(NackMessage(seqNo: 5))], options: PacketOptions(keyring: sender))
        XCTAssertEqual(try GossipPacket.decode(packet, keyring: receiver).messages, [.nack(NackMessage(seqNo: 5))])
    }

    func testRandomNoncesDiffer() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        let first = try keyring.encrypt([1, 2, 3])
        let second = try keyring.encrypt([1, 2, 3])
        XCTAssertNotEqual(first[1..<13], second[1..<13])
        XCTAssertEqual(try keyring.decrypt(first), [1, 2, 3])
    }

    func testPaddedVersionAlwaysAddsPadding() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        for length in [0, 1, 15, 16, 17, 32] {
            let plaintext = [UInt8](repeating: 9, count: length)
            let blob = try keyring.encrypt(plaintext, version: .padded)
            XCTAssertEqual(blob.count, EncryptionVersion.padded.encryptedLength(plaintextCount: length))
            XCTAssertEqual((blob.count - 29) % 16, 0)
            XCTAssertGreaterThan(blob.count - 29, length, "a full block is added when already aligned")
            XCTAssertEqual(try keyring.decrypt(blob), plaintext)
        }
        XCTAssertEqual(EncryptionVersion.padded.maximumOverhead, 45)
        XCTAssertEqual(EncryptionVersion(protocolCurrent: 1), .padded)
        XCTAssertEqual(EncryptionVersion(protocolCurrent: 2), .unpadded)
    }

    func testMalformedBlobsAreRejected() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        XCTAssertThrowsWireError(.encryptedPayloadTooShort(0, minimum: 29), try keyring.decrypt([]))
        XCTAssertThrowsWireError(.unsupportedEncryptionVersion(2), try keyring.decrypt([2] + Array(repeating: 0, count: 40)))
        XCTAssertThrowsWireError(.encryptedPayloadTooShort(28, minimum: 29), try keyring.decrypt([1] + Array(repeating: 0, count: 27)))
        XCTAssertThrowsWireError(.encryptedPayloadTooShort(44, minimum: 45), try keyring.decrypt([0] + Array(repeating: 0, count: 43)))
        XCTAssertThrowsWireError(.invalidNonceLength(11), try keyring.encrypt([1], nonce: Array(repeating: 0, count: 11)))

        var tampered = SpecVectorTests.udpV1
        tampered[20] ^= 0x01
        XCTAssertThrowsWireError(.noKeyDecrypts(keyCount: 1), try keyring.decrypt(tampered))
    }

    /// The version byte is not authenticated, so a v1 blob relabelled as v0 opens; its last
    /// byte then claims 255 bytes of padding in a 20-byte plaintext. Go would panic slicing.
    func testPaddingLongerThanPlaintextIsRefused() throws {
        let keyring = try Keyring(primaryKey: Fixture.keyBytes)
        var blob = try keyring.encrypt(Array(repeating: 0, count: 19) + [0xff], version: .unpadded)
        blob[0] = EncryptionVersion.padded.rawValue
        XCTAssertThrowsWireError(.invalidPadding(255), try keyring.decrypt(blob))
    }
}
