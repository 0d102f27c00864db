/// The AES keys a node encrypts and decrypts with (spec §7).
///
/// The first key is the primary: it encrypts everything sent. Decryption tries every key
/// in order, which is how a cluster rotates keys without losing messages.
public struct Keyring: Sendable, Equatable {
    /// Primary first; no duplicates.
    public let keys: [[UInt8]]

    public var primaryKey: [UInt8] { keys[0] }

    /// Builds a keyring from raw keys; each must be 16, 24 or 32 bytes (AES-128/192/256).
    /// As in Go, a key listed twice is kept once.
    public init(primaryKey: [UInt8], otherKeys: [[UInt8]] = []) throws {
        var keys: [[UInt8]] = []
        for key in [primaryKey] + otherKeys {
            guard Self.validKeyLengths.contains(key.count) else { throw WireError.invalidKeyLength(key.count) }
            if !keys.contains(key) { keys.append(key) }
        }
        self.keys = keys
    }

    /// Builds a keyring from standard-base64 keys, as `serf keygen` prints them and
    /// `-keyring-file` lists them; the first is the primary.
    public init(base64Keys: [String]) throws {
        guard let first = base64Keys.first else { throw WireError.emptyKeyring }
        try self.init(primaryKey: try Base64.decode(first), otherKeys: try base64Keys.dropFirst().map(Base64.decode))
    }

    /// Encrypts `plaintext` with the primary key. `additionalData` is empty for UDP and the
    /// 5-byte frame header for TCP. `nonce` is random unless given (for reproducible tests).
    public func encrypt(_ plaintext: [UInt8], additionalData: [UInt8] = [], version: EncryptionVersion = .unpadded,
                        nonce: [UInt8]? = nil) throws -> [UInt8] {
        try EncryptedBlob.seal(plaintext, key: primaryKey, version: version, additionalData: additionalData,
                               nonce: nonce ?? EncryptedBlob.randomNonce())
    }

    /// Decrypts a blob of either version with the first key that authenticates it.
    public func decrypt(_ blob: [UInt8], additionalData: [UInt8] = []) throws -> [UInt8] {
        try EncryptedBlob.open(blob, keys: keys, additionalData: additionalData)
    }

    /// The key as `serf keygen` would print it.
    public static func base64(_ key: [UInt8]) -> String {
        Base64.encode(key)
    }

    /// AES-128, AES-192 and AES-256.
    static let validKeyLengths: Set<Int> = [16, 24, 32]
}
