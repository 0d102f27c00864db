/// Framing of one direction of a TCP stream (spec §2, §7, §8).
///
/// Sending: content → compress (always, when enabled) → encrypt frame `0a <u32 length> <blob>`
/// whose 5 header bytes are also the AES-GCM additional data.
/// Receiving is incremental: feed everything received so far to `decode`; it answers
/// `.needMoreBytes` until one whole message is there. Callers should also apply their
/// read deadline, since a peer may simply stop sending.
public enum StreamFraming {
    /// Frames a message for sending. `nonce` is random unless given (for reproducible tests).
    public static func encode(_ message: StreamMessage, options: StreamOptions, nonce: [UInt8]? = nil) throws -> [UInt8] {
        var content = message.encoded()
        if options.compress {
            // Go compresses streams unconditionally, even when that makes them longer.
            content = CompressMessage(compressing: content).encodedMessage()
        }
        guard let keyring = options.keyring else { return content }
        return try encryptFrame(content, keyring: keyring, version: options.encryptionVersion, nonce: nonce)
    }

    /// `0a`, the u32 big-endian blob length, then the blob sealed with those 5 bytes as AD.
    public static func encryptFrame(_ plaintext: [UInt8], keyring: Keyring, version: EncryptionVersion = .unpadded,
                                    nonce: [UInt8]? = nil) throws -> [UInt8] {
        let length = version.encryptedLength(plaintextCount: plaintext.count)
        guard length <= WireLimits.maximumStreamSize else {
            throw WireError.frameTooLarge(length, limit: WireLimits.maximumStreamSize)
        }
        let header = frameHeader(blobLength: length)
        return header + (try keyring.encrypt(plaintext, additionalData: header, version: version, nonce: nonce))
    }

    /// Decodes the first message in `received`. With a keyring, the stream must be
    /// encrypted; without one, an encrypted stream is refused (both as in Go).
    public static func decode(_ received: [UInt8], keyring: Keyring?) throws -> StreamDecodeResult {
        guard let first = received.first else { return .needMoreBytes }
        if first == MessageType.encrypt.rawValue {
            guard let keyring else { throw WireError.encryptionNotConfigured }
            guard received.count >= encryptHeaderSize else { return .needMoreBytes }
            let length = received[1..<encryptHeaderSize].reduce(0) { $0 << 8 | Int($1) }
            guard length <= WireLimits.maximumStreamSize else {
                throw WireError.frameTooLarge(length, limit: WireLimits.maximumStreamSize)
            }
            let frameEnd = encryptHeaderSize + length
            guard received.count >= frameEnd else { return .needMoreBytes }
            let plaintext = try keyring.decrypt(Array(received[encryptHeaderSize..<frameEnd]),
                                                additionalData: Array(received[0..<encryptHeaderSize]))
            do {
                return .complete(try decodeContent(plaintext).message, consumedByteCount: frameEnd)
            } catch let error as WireError {
                throw WireError.contentTruncated(error)
            }
        }
        if keyring != nil { throw WireError.encryptionRequired }
        do {
            let (message, consumed) = try decodeContent(received)
            return .complete(message, consumedByteCount: consumed)
        } catch let error as WireError where error.isTruncation {
            guard received.count < WireLimits.maximumStreamSize else {
                throw WireError.frameTooLarge(received.count, limit: WireLimits.maximumStreamSize)
            }
            return .needMoreBytes
        }
    }

    /// Plain or compressed content. Go unwraps at most one compress layer on a stream.
    private static func decodeContent(_ bytes: [UInt8]) throws -> (message: StreamMessage, consumed: Int) {
        guard bytes.first == MessageType.compress.rawValue else { return try StreamMessage.decodePlain(bytes) }
        var reader = MsgpackReader(bytes, position: 1)
        let compressed = try CompressMessage(msgpack: &reader)
        let plain = try compressed.decompressed(maximumSize: WireLimits.maximumStreamSize)
        // Go indexes the first decompressed byte unchecked and panics on empty output.
        guard !plain.isEmpty else { throw WireError.emptyMessage }
        do {
            return (try StreamMessage.decodePlain(plain).message, reader.position)
        } catch let error as WireError {
            throw WireError.contentTruncated(error)
        }
    }

    /// `0a` plus the u32 big-endian blob length.
    static let encryptHeaderSize = 5

    static func frameHeader(blobLength: Int) -> [UInt8] {
        [MessageType.encrypt.rawValue,
         UInt8(blobLength >> 24 & 0xff), UInt8(blobLength >> 16 & 0xff), UInt8(blobLength >> 8 & 0xff), UInt8(blobLength & 0xff)]
    }
}

/// How to frame an outgoing stream message.
public struct StreamOptions: Sendable {
    /// memberlist `EnableCompression` (on for the Serf agent). Streams are then always compressed.
    public var compress: Bool
    /// Encrypt with the keyring's primary key when set.
    public var keyring: Keyring?
    /// `.unpadded` unless this node speaks memberlist protocol 1.
    public var encryptionVersion: EncryptionVersion

    public init(compress: Bool = true, keyring: Keyring? = nil, encryptionVersion: EncryptionVersion = .unpadded) {
        self.compress = compress
        self.keyring = keyring
        self.encryptionVersion = encryptionVersion
    }
}

public enum StreamDecodeResult: Equatable, Sendable {
    /// Everything so far is a valid prefix; read more and call `decode` again with all bytes.
    case needMoreBytes
    /// One whole message, which used the first `consumedByteCount` bytes.
    case complete(StreamMessage, consumedByteCount: Int)
}
