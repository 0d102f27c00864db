import Crypto

/// memberlist's encrypted blob: `[version u8][nonce 12][ciphertext][tag 16]`, AES-GCM (spec §7).
public enum EncryptionVersion: UInt8, Sendable, CaseIterable {
    /// Plaintext is PKCS#7-padded to a 16-byte multiple before sealing. Used only by
    /// nodes speaking memberlist protocol 1.
    case padded = 0
    /// No padding; what every Serf agent sends (it speaks protocol 2).
    case unpadded = 1

    /// memberlist's choice: protocol 1 → padded, anything newer → unpadded.
    public init(protocolCurrent: UInt8) {
        self = protocolCurrent == 1 ? .padded : .unpadded
    }

    /// The most bytes encryption can add: version + nonce + tag, plus a full padding block for v0.
    /// Senders subtract this from the UDP piggy-back budget.
    public var maximumOverhead: Int {
        switch self {
        case .padded: return 1 + WireLimits.nonceSize + Self.paddingBlockSize + WireLimits.tagSize
        case .unpadded: return 1 + WireLimits.nonceSize + WireLimits.tagSize
        }
    }

    /// Exact blob length for a plaintext of `plaintextCount` bytes.
    public func encryptedLength(plaintextCount: Int) -> Int {
        switch self {
        case .padded:
            let padding = Self.paddingBlockSize - plaintextCount % Self.paddingBlockSize
            return 1 + WireLimits.nonceSize + plaintextCount + padding + WireLimits.tagSize
        case .unpadded:
            return 1 + WireLimits.nonceSize + plaintextCount + WireLimits.tagSize
        }
    }

    /// The AES block size that version 0 pads to.
    static let paddingBlockSize = 16
}

/// The AES-GCM primitives behind `Keyring`; kept apart so the byte layout is in one place.
enum EncryptedBlob {
    static func seal(_ plaintext: [UInt8], key: [UInt8], version: EncryptionVersion,
                     additionalData: [UInt8], nonce: [UInt8]) throws -> [UInt8] {
        guard nonce.count == WireLimits.nonceSize else { throw WireError.invalidNonceLength(nonce.count) }
        var sealedInput = plaintext
        if version == .padded {
            let padding = EncryptionVersion.paddingBlockSize - plaintext.count % EncryptionVersion.paddingBlockSize
            sealedInput.append(contentsOf: repeatElement(UInt8(padding), count: padding))
        }
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(sealedInput, using: SymmetricKey(data: key),
                                   nonce: try AES.GCM.Nonce(data: nonce), authenticating: additionalData)
        } catch {
            throw WireError.invalidKeyLength(key.count)
        }
        var blob: [UInt8] = [version.rawValue]
        blob.reserveCapacity(version.encryptedLength(plaintextCount: plaintext.count))
        blob.append(contentsOf: nonce)
        blob.append(contentsOf: box.ciphertext)
        blob.append(contentsOf: box.tag)
        return blob
    }

    /// Opens `blob` with the first key that authenticates it, trying keys in order as Go does.
    static func open(_ blob: [UInt8], keys: [[UInt8]], additionalData: [UInt8]) throws -> [UInt8] {
        guard let versionByte = blob.first else {
            throw WireError.encryptedPayloadTooShort(0, minimum: EncryptionVersion.unpadded.encryptedLength(plaintextCount: 0))
        }
        guard let version = EncryptionVersion(rawValue: versionByte) else {
            throw WireError.unsupportedEncryptionVersion(versionByte)
        }
        let minimum = version.encryptedLength(plaintextCount: 0)
        guard blob.count >= minimum else { throw WireError.encryptedPayloadTooShort(blob.count, minimum: minimum) }

        let nonceEnd = 1 + WireLimits.nonceSize
        let tagStart = blob.count - WireLimits.tagSize
        for key in keys {
            guard let box = try? AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: blob[1..<nonceEnd]),
                                                   ciphertext: blob[nonceEnd..<tagStart],
                                                   tag: blob[tagStart...]),
                  let opened = try? AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: additionalData)
            else { continue }
            var plaintext = Array(opened)
            if version == .padded {
                // Go strips as many bytes as the last byte says, without checking them.
                // It panics when that exceeds the length; we refuse instead.
                let padding = Int(plaintext.last ?? 0)
                guard padding <= plaintext.count else { throw WireError.invalidPadding(UInt8(padding)) }
                plaintext.removeLast(padding)
            }
            return plaintext
        }
        throw WireError.noKeyDecrypts(keyCount: keys.count)
    }

    /// A fresh random nonce from the system's secure generator (via swift-crypto).
    static func randomNonce() -> [UInt8] {
        Array(AES.GCM.Nonce())
    }
}
