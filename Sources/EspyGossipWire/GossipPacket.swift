/// A whole UDP datagram: the layering of spec §2 in both directions.
///
/// Sending: payload → compress (only if strictly shorter) → hasCrc → encrypt.
/// Receiving: decrypt → check and strip an outermost hasCrc → unpack compress and compound
/// recursively. Like Go, one bad part does not spoil the others: it is reported in
/// `DecodedPacket.problems` and skipped.
public enum GossipPacket {
    /// Wraps a finished payload (one message, or a `Compound.encode` result) for sending.
    /// `nonce` is random unless given (for reproducible tests).
    public static func encode(_ payload: [UInt8], options: PacketOptions, nonce: [UInt8]? = nil) throws -> [UInt8] {
        guard !payload.isEmpty else { throw WireError.emptyMessage }
        var packet = payload
        if options.compress {
            let compressed = CompressMessage(compressing: packet).encodedMessage()
            if compressed.count < packet.count { packet = compressed }
        }
        if options.addChecksum {
            let crc = CRC32.checksum(packet)
            packet = [MessageType.hasCrc.rawValue,
                      UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)] + packet
        }
        if let keyring = options.keyring {
            packet = try keyring.encrypt(packet, version: options.encryptionVersion, nonce: nonce)
        }
        return packet
    }

    /// Encodes messages as one packet: a single message as-is, several as a compound.
    public static func encode(_ messages: [PacketMessage], options: PacketOptions, nonce: [UInt8]? = nil) throws -> [UInt8] {
        guard !messages.isEmpty else { throw WireError.emptyMessage }
        let parts = messages.map { $0.encoded() }
        let payload = parts.count == 1 ? parts[0] : try Compound.encode(parts)
        return try encode(payload, options: options, nonce: nonce)
    }

    /// Unpacks a received datagram. Throws only when the whole packet must be dropped
    /// (empty, undecryptable, bad checksum); problems with individual parts are collected.
    public static func decode(_ datagram: [UInt8], keyring: Keyring?) throws -> DecodedPacket {
        var plain = datagram
        if let keyring {
            plain = try keyring.decrypt(datagram)
        }
        guard !plain.isEmpty else { throw WireError.emptyMessage }

        var result = DecodedPacket(messages: [], problems: [], hadChecksum: false)
        var start = 0
        // hasCrc counts only as the outermost layer, and only with a full 4-byte checksum.
        if plain.count >= checksumHeaderSize && plain[0] == MessageType.hasCrc.rawValue {
            let expected = plain[1..<checksumHeaderSize].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let computed = CRC32.checksum(plain[checksumHeaderSize...])
            guard expected == computed else { throw WireError.checksumMismatch(expected: expected, computed: computed) }
            result.hadChecksum = true
            start = checksumHeaderSize
        }
        var budget = WireLimits.maximumPacketDecompressedSize
        unpack(Array(plain[start...]), depth: 0, budget: &budget, into: &result)
        return result
    }

    /// `0x0c` plus a big-endian CRC-32.
    static let checksumHeaderSize = 5

    private static func unpack(_ message: [UInt8], depth: Int, budget: inout Int, into result: inout DecodedPacket) {
        guard let first = message.first else {
            // Go would index the missing type byte and panic.
            result.problems.append(.emptyMessage)
            return
        }
        guard depth <= WireLimits.maximumPacketNesting else {
            result.problems.append(.nestingTooDeep(limit: WireLimits.maximumPacketNesting))
            return
        }
        do {
            switch MessageType(rawValue: first) {
            case .compound:
                let split = try Compound.splitBody(message, from: 1)
                if split.truncatedPartCount > 0 {
                    result.problems.append(.truncatedCompoundParts(split.truncatedPartCount))
                }
                for part in split.parts {
                    unpack(part, depth: depth + 1, budget: &budget, into: &result)
                }
            case .compress:
                var reader = MsgpackReader(message, position: 1)
                let inner = try CompressMessage(msgpack: &reader).decompressed(maximumSize: budget)
                budget -= inner.count
                unpack(inner, depth: depth + 1, budget: &budget, into: &result)
            default:
                result.messages.append(try PacketMessage(message: message))
            }
        } catch let error as WireError {
            result.problems.append(error)
        } catch {
            result.problems.append(.invalidField("packet", "\(error)"))
        }
    }
}

/// How to wrap an outgoing packet; mirrors the sender-side switches of spec §2.
public struct PacketOptions: Sendable {
    /// memberlist `EnableCompression` (on for the Serf agent). Applied only if it shrinks the packet.
    public var compress: Bool
    /// Add hasCrc: only when the recipient is a known node whose PMax is at least 5.
    public var addChecksum: Bool
    /// Encrypt with the keyring's primary key when set.
    public var keyring: Keyring?
    /// `.unpadded` unless this node speaks memberlist protocol 1.
    public var encryptionVersion: EncryptionVersion

    public init(compress: Bool = true, addChecksum: Bool = false, keyring: Keyring? = nil,
                encryptionVersion: EncryptionVersion = .unpadded) {
        self.compress = compress
        self.addChecksum = addChecksum
        self.keyring = keyring
        self.encryptionVersion = encryptionVersion
    }
}

/// Everything a datagram carried.
public struct DecodedPacket: Equatable, Sendable {
    /// In wire order.
    public var messages: [PacketMessage]
    /// Parts that were skipped, as Go skips them: unknown types, undecodable bodies,
    /// truncated compound parts, failed decompression. Worth a log line, nothing more.
    public var problems: [WireError]
    /// Whether an outermost hasCrc wrapper was present (and verified).
    public var hadChecksum: Bool

    public init(messages: [PacketMessage], problems: [WireError], hadChecksum: Bool) {
        self.messages = messages
        self.problems = problems
        self.hadChecksum = hadChecksum
    }
}
