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
        let utf8 = Array(hex.utf8)
        guard utf8.count == RecordID.byteCount * 2 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: utf8.count, by: 2) {
            guard let high = JSONText.hexValue(utf8[i]), let low = JSONText.hexValue(utf8[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// Lower-case hex, as the API reports ids.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The partition this record belongs to: its id read as a big-endian number, modulo the
    /// cluster's fixed partition count (SHA-256 output is uniform, so partitions fill evenly).
    public func partition(of partitionCount: Int) -> Int {
        var prefix: UInt64 = 0
        for byte in bytes.prefix(8) { prefix = prefix << 8 | UInt64(byte) }
        return Int(prefix % UInt64(partitionCount))
    }
}
