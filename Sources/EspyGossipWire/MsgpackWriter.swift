/// Writes msgpack the way go-msgpack 0.5.x does with a default `MsgpackHandle{}` (spec §4).
///
/// Go runs in "old spec" raw mode: both `string` and `[]byte` use the str family and
/// str8 is never produced, so a 32-255 byte value is written as str16. Integers use the
/// smallest encoding; non-negative signed values are written as unsigned, like Go.
public struct MsgpackWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends bytes that are not msgpack (a type byte, or raw user state after a header).
    public mutating func writeRaw<Bytes: Sequence>(_ raw: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    public mutating func writeNil() {
        bytes.append(0xc0)
    }

    public mutating func writeBool(_ value: Bool) {
        bytes.append(value ? 0xc3 : 0xc2)
    }

    public mutating func writeUnsigned(_ value: UInt64) {
        switch value {
        case 0...0x7f:
            bytes.append(UInt8(value))
        case 0x80...0xff:
            bytes.append(0xcc)
            bytes.append(UInt8(value))
        case 0x100...0xffff:
            bytes.append(0xcd)
            appendBigEndian(value, byteCount: 2)
        case 0x1_0000...0xffff_ffff:
            bytes.append(0xce)
            appendBigEndian(value, byteCount: 4)
        default:
            bytes.append(0xcf)
            appendBigEndian(value, byteCount: 8)
        }
    }

    public mutating func writeSigned(_ value: Int64) {
        if value >= 0 {
            writeUnsigned(UInt64(value))
        } else if value >= -32 {
            bytes.append(UInt8(bitPattern: Int8(value)))
        } else if value >= Int64(Int8.min) {
            bytes.append(0xd0)
            bytes.append(UInt8(bitPattern: Int8(value)))
        } else if value >= Int64(Int16.min) {
            bytes.append(0xd1)
            appendBigEndian(UInt64(bitPattern: value), byteCount: 2)
        } else if value >= Int64(Int32.min) {
            bytes.append(0xd2)
            appendBigEndian(UInt64(bitPattern: value), byteCount: 4)
        } else {
            bytes.append(0xd3)
            appendBigEndian(UInt64(bitPattern: value), byteCount: 8)
        }
    }

    public mutating func writeFloat64(_ value: Double) {
        bytes.append(0xcb)
        appendBigEndian(value.bitPattern, byteCount: 8)
    }

    /// A Go `[]byte` or `string` payload: fixstr, str16 or str32, never str8 or bin.
    public mutating func writeByteString<Bytes: Collection>(_ value: Bytes) where Bytes.Element == UInt8 {
        let count = value.count
        if count < 32 {
            bytes.append(0xa0 | UInt8(count))
        } else if count <= 0xffff {
            bytes.append(0xda)
            appendBigEndian(UInt64(count), byteCount: 2)
        } else {
            bytes.append(0xdb)
            appendBigEndian(UInt64(count), byteCount: 4)
        }
        bytes.append(contentsOf: value)
    }

    public mutating func writeString(_ value: String) {
        writeByteString(Array(value.utf8))
    }

    /// A Go `[]byte` that may be nil: nil becomes 0xc0, empty-but-present becomes 0xa0.
    public mutating func writeOptionalByteString(_ value: [UInt8]?) {
        if let value { writeByteString(value) } else { writeNil() }
    }

    /// A Go `[]byte` field held as a non-optional array: empty is written as nil (0xc0),
    /// which is what Go sends for a slice it never assigned and what it re-sends after
    /// decoding any empty value.
    public mutating func writeByteStringOrNilIfEmpty(_ value: [UInt8]) {
        if value.isEmpty { writeNil() } else { writeByteString(value) }
    }

    public mutating func writeArrayHeader(count: Int) {
        writeContainerHeader(count: count, fixBase: 0x90, marker16: 0xdc, marker32: 0xdd)
    }

    public mutating func writeMapHeader(count: Int) {
        writeContainerHeader(count: count, fixBase: 0x80, marker16: 0xde, marker32: 0xdf)
    }

    private mutating func writeContainerHeader(count: Int, fixBase: UInt8, marker16: UInt8, marker32: UInt8) {
        precondition(count >= 0 && UInt64(count) <= UInt64(UInt32.max), "msgpack container count out of range")
        if count < 16 {
            bytes.append(fixBase | UInt8(count))
        } else if count <= 0xffff {
            bytes.append(marker16)
            appendBigEndian(UInt64(count), byteCount: 2)
        } else {
            bytes.append(marker32)
            appendBigEndian(UInt64(count), byteCount: 4)
        }
    }

    private mutating func appendBigEndian(_ value: UInt64, byteCount: Int) {
        for index in stride(from: byteCount - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))))
        }
    }
}
