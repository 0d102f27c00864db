import Crypto

/// A record's identity: the first 16 bytes of the SHA-256 of its compact JSON.
///
/// Deriving the id from the content is what makes ingest idempotent: a retried batch produces
/// the same ids, and the store ignores ids it already holds.
public struct RecordID: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 16

    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == RecordID.byteCount, "a record id is \(RecordID.byteCount) bytes")
        self.bytes = bytes
    }

    public init(content: UnsafeRawBufferPointer) {
        self.bytes = Array(SHA256.hash(data: content).prefix(RecordID.byteCount))
    }

    public init(content: [UInt8]) {
        self = content.withUnsafeBytes { RecordID(content: $0) }
    }

    public init?(hex: String) {
        guard hex.utf8.count == RecordID.byteCount * 2, let bytes = Hex.decode(hex) else { return nil }
        self.bytes = bytes
    }

    /// Lower-case hex, as the API reports ids.
    public var description: String { Hex.encode(bytes) }

    /// The partition this record belongs to: its id read as a big-endian number, modulo the
    /// cluster's fixed partition count (SHA-256 output is uniform, so partitions fill evenly).
    public func partition(of partitionCount: Int) -> Int {
        var prefix: UInt64 = 0
        for byte in bytes.prefix(8) { prefix = prefix << 8 | UInt64(byte) }
        return Int(prefix % UInt64(partitionCount))
    }
}
