/// Why bytes could not be turned into memberlist values, or values into bytes.
///
/// The cases are private so callers cannot grow brittle switches over them;
/// `isTruncation` is the one distinction a caller needs (a TCP reader waits for
/// more bytes instead of failing), and `description` is meant for logs.
public struct WireError: Error, Equatable, CustomStringConvertible, Sendable {
    private enum Kind: Equatable, Sendable {
        case truncated(needed: Int, available: Int, reading: String)
        case unexpectedFormat(byte: UInt8, offset: Int, expected: String)
        case integerOverflow(value: String, bits: Int)
        case negativeInteger(value: Int64, field: String)
        case invalidField(name: String, reason: String)
        case emptyMessage
        case unexpectedMessageType(found: UInt8, expected: String)
        case checksumMismatch(expected: UInt32, computed: UInt32)
        case unknownCompressionAlgorithm(UInt8)
        case lzwInvalidCode(code: Int, highestDefined: Int)
        case lzwMissingEndOfStream
        case outputLimitExceeded(limit: Int, what: String)
        case nestingTooDeep(limit: Int)
        case tooManyCompoundParts(count: Int, limit: Int)
        case compoundPartTooLong(length: Int)
        case invalidKeyLength(Int)
        case invalidBase64(String)
        case emptyKeyring
        case unsupportedEncryptionVersion(UInt8)
        case encryptedPayloadTooShort(length: Int, minimum: Int)
        case invalidNonceLength(Int)
        case noKeyDecrypts(keyCount: Int)
        case invalidPadding(UInt8)
        case frameTooLarge(length: Int, limit: Int)
        case encryptionRequired
        case encryptionNotConfigured
        case metaTooLarge(size: Int, limit: Int)
        case truncatedCompoundParts(count: Int)
        case unsupportedInPacket(UInt8)
        case contentTruncated(String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// True when the input simply ended too early; more bytes from a stream may complete it.
    public var isTruncation: Bool {
        if case .truncated = kind { return true }
        return false
    }

    public var description: String {
        switch kind {
        case let .truncated(needed, available, reading):
            return "truncated input: \(reading) needs \(needed) more byte(s), \(available) left"
        case let .unexpectedFormat(byte, offset, expected):
            return "unexpected msgpack byte 0x\(hex(byte)) at offset \(offset), expected \(expected)"
        case let .integerOverflow(value, bits):
            return "integer \(value) does not fit in \(bits) bits"
        case let .negativeInteger(value, field):
            return "negative value \(value) for \(field)"
        case let .invalidField(name, reason):
            return "invalid \(name): \(reason)"
        case .emptyMessage:
            return "empty message: a message needs at least its type byte"
        case let .unexpectedMessageType(found, expected):
            return "message type \(found) where \(expected) was expected"
        case let .checksumMismatch(expected, computed):
            return "CRC32 mismatch: header says 0x\(hex32(expected)), payload hashes to 0x\(hex32(computed))"
        case let .unknownCompressionAlgorithm(algorithm):
            return "unknown compression algorithm \(algorithm) (only 0 = LZW exists)"
        case let .lzwInvalidCode(code, highestDefined):
            return "LZW code \(code) is above the highest defined code \(highestDefined)"
        case .lzwMissingEndOfStream:
            return "LZW data ended without the end-of-stream code"
        case let .outputLimitExceeded(limit, what):
            return "\(what) would exceed the limit of \(limit) bytes"
        case let .nestingTooDeep(limit):
            return "wrappers nested deeper than \(limit) levels"
        case let .tooManyCompoundParts(count, limit):
            return "compound with \(count) parts; at most \(limit) are allowed"
        case let .compoundPartTooLong(length):
            return "compound part of \(length) bytes does not fit a u16 length"
        case let .invalidKeyLength(length):
            return "encryption key of \(length) bytes; AES needs 16, 24 or 32"
        case let .invalidBase64(reason):
            return "invalid base64 key: \(reason)"
        case .emptyKeyring:
            return "a keyring needs at least one key"
        case let .unsupportedEncryptionVersion(version):
            return "unsupported encryption version \(version)"
        case let .encryptedPayloadTooShort(length, minimum):
            return "encrypted payload of \(length) bytes is shorter than the minimum \(minimum)"
        case let .invalidNonceLength(length):
            return "AES-GCM nonce of \(length) bytes; 12 are required"
        case let .noKeyDecrypts(keyCount):
            return "none of the \(keyCount) installed key(s) could decrypt the message"
        case let .invalidPadding(byte):
            return "PKCS#7 padding byte \(byte) is longer than the plaintext"
        case let .frameTooLarge(length, limit):
            return "frame of \(length) bytes exceeds the limit of \(limit)"
        case .encryptionRequired:
            return "encryption is configured but the stream is not encrypted"
        case .encryptionNotConfigured:
            return "the stream is encrypted but no keyring is configured"
        case let .metaTooLarge(size, limit):
            return "node meta of \(size) bytes exceeds the limit of \(limit)"
        case let .truncatedCompoundParts(count):
            return "compound message had \(count) truncated part(s)"
        case let .unsupportedInPacket(type):
            return "msg type (\(type)) not supported in a UDP packet"
        case let .contentTruncated(detail):
            return "decrypted or decompressed content ends early: \(detail)"
        }
    }

    // MARK: Factories (internal so tests can compare exact errors)

    static func truncated(needed: Int, available: Int, reading: String) -> WireError {
        WireError(.truncated(needed: needed, available: available, reading: reading))
    }
    static func unexpectedFormat(byte: UInt8, offset: Int, expected: String) -> WireError {
        WireError(.unexpectedFormat(byte: byte, offset: offset, expected: expected))
    }
    static func integerOverflow(value: String, bits: Int) -> WireError {
        WireError(.integerOverflow(value: value, bits: bits))
    }
    static func negativeInteger(_ value: Int64, field: String) -> WireError {
        WireError(.negativeInteger(value: value, field: field))
    }
    static func invalidField(_ name: String, _ reason: String) -> WireError {
        WireError(.invalidField(name: name, reason: reason))
    }
    static let emptyMessage = WireError(.emptyMessage)
    static func unexpectedMessageType(_ found: UInt8, expected: String) -> WireError {
        WireError(.unexpectedMessageType(found: found, expected: expected))
    }
    static func checksumMismatch(expected: UInt32, computed: UInt32) -> WireError {
        WireError(.checksumMismatch(expected: expected, computed: computed))
    }
    static func unknownCompressionAlgorithm(_ algorithm: UInt8) -> WireError {
        WireError(.unknownCompressionAlgorithm(algorithm))
    }
    static func lzwInvalidCode(_ code: Int, highestDefined: Int) -> WireError {
        WireError(.lzwInvalidCode(code: code, highestDefined: highestDefined))
    }
    static let lzwMissingEndOfStream = WireError(.lzwMissingEndOfStream)
    static func outputLimitExceeded(limit: Int, what: String) -> WireError {
        WireError(.outputLimitExceeded(limit: limit, what: what))
    }
    static func nestingTooDeep(limit: Int) -> WireError { WireError(.nestingTooDeep(limit: limit)) }
    static func tooManyCompoundParts(_ count: Int, limit: Int) -> WireError {
        WireError(.tooManyCompoundParts(count: count, limit: limit))
    }
    static func compoundPartTooLong(_ length: Int) -> WireError { WireError(.compoundPartTooLong(length: length)) }
    static func invalidKeyLength(_ length: Int) -> WireError { WireError(.invalidKeyLength(length)) }
    static func invalidBase64(_ reason: String) -> WireError { WireError(.invalidBase64(reason)) }
    static let emptyKeyring = WireError(.emptyKeyring)
    static func unsupportedEncryptionVersion(_ version: UInt8) -> WireError {
        WireError(.unsupportedEncryptionVersion(version))
    }
    static func encryptedPayloadTooShort(_ length: Int, minimum: Int) -> WireError {
        WireError(.encryptedPayloadTooShort(length: length, minimum: minimum))
    }
    static func invalidNonceLength(_ length: Int) -> WireError { WireError(.invalidNonceLength(length)) }
    static func noKeyDecrypts(keyCount: Int) -> WireError { WireError(.noKeyDecrypts(keyCount: keyCount)) }
    static func invalidPadding(_ byte: UInt8) -> WireError { WireError(.invalidPadding(byte)) }
    static func frameTooLarge(_ length: Int, limit: Int) -> WireError {
        WireError(.frameTooLarge(length: length, limit: limit))
    }
    static let encryptionRequired = WireError(.encryptionRequired)
    static let encryptionNotConfigured = WireError(.encryptionNotConfigured)
    static func truncatedCompoundParts(_ count: Int) -> WireError { WireError(.truncatedCompoundParts(count: count)) }
    static func unsupportedInPacket(_ type: UInt8) -> WireError { WireError(.unsupportedInPacket(type)) }
    /// A truncation inside bytes that are already complete (decrypted or decompressed):
    /// waiting for more stream bytes cannot fix it, so it must not count as a truncation.
    static func contentTruncated(_ inner: WireError) -> WireError {
        inner.isTruncation ? WireError(.contentTruncated(inner.description)) : inner
    }
    static func metaTooLarge(_ size: Int, limit: Int) -> WireError { WireError(.metaTooLarge(size: size, limit: limit)) }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
}

private func hex32(_ value: UInt32) -> String {
    (0..<4).map { hex(UInt8(truncatingIfNeeded: value >> (24 - 8 * $0))) }.joined()
}
