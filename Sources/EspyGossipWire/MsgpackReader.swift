/// Reads msgpack from untrusted bytes with go-msgpack 0.5.x's acceptance rules (spec §4).
///
/// Safety rules, relied on by every decoder in this module:
/// * every length is checked against the bytes that remain before anything is allocated
///   or sliced, so a hostile length yields a truncation error, never a huge allocation;
/// * skipping unknown values is iterative (a pending-value counter, no recursion), so
///   deep nesting cannot exhaust the stack;
/// * nil decodes as the zero value for any field, as Go's decoder does.
public struct MsgpackReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = min(max(position, 0), bytes.count)
    }

    public var remainingCount: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }

    // MARK: Raw bytes

    /// Bytes that follow msgpack values without msgpack framing (push/pull user state).
    public mutating func readRaw(count: Int, reading: String = "raw bytes") throws -> [UInt8] {
        try require(count, reading: reading)
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    public func peekByte() throws -> UInt8 {
        guard position < bytes.count else { throw WireError.truncated(needed: 1, available: 0, reading: "msgpack value") }
        return bytes[position]
    }

    /// Consumes a nil (0xc0) if one is next and reports whether it did.
    public mutating func readNilIfPresent() -> Bool {
        guard position < bytes.count, bytes[position] == 0xc0 else { return false }
        position += 1
        return true
    }

    // MARK: Integers, bools, floats

    /// Any msgpack integer that is non-negative and fits in `bits`; nil reads as 0.
    public mutating func readUnsigned(bits: Int) throws -> UInt64 {
        let offset = position
        let marker = try readByte(reading: "integer")
        let value: UInt64
        switch marker {
        case 0x00...0x7f: value = UInt64(marker)
        case 0xc0: value = 0
        case 0xcc: value = try readBigEndian(byteCount: 1, reading: "uint8")
        case 0xcd: value = try readBigEndian(byteCount: 2, reading: "uint16")
        case 0xce: value = try readBigEndian(byteCount: 4, reading: "uint32")
        case 0xcf: value = try readBigEndian(byteCount: 8, reading: "uint64")
        case 0xd0...0xd3, 0xe0...0xff:
            position = offset
            let signed = try readSigned(bits: 64)
            guard signed >= 0 else { throw WireError.negativeInteger(signed, field: "an unsigned field") }
            value = UInt64(signed)
        default:
            throw WireError.unexpectedFormat(byte: marker, offset: offset, expected: "an integer")
        }
        if bits < 64 && value >> UInt64(bits) != 0 {
            throw WireError.integerOverflow(value: String(value), bits: bits)
        }
        return value
    }

    /// Any msgpack integer that fits in a signed `bits`-wide integer; nil reads as 0.
    public mutating func readSigned(bits: Int) throws -> Int64 {
        let offset = position
        let marker = try readByte(reading: "integer")
        let value: Int64
        switch marker {
        case 0x00...0x7f, 0xe0...0xff: value = Int64(Int8(bitPattern: marker))
        case 0xc0: value = 0
        case 0xcc...0xcf:
            position = offset
            let unsigned = try readUnsigned(bits: 64)
            guard unsigned <= UInt64(Int64.max) else { throw WireError.integerOverflow(value: String(unsigned), bits: bits) }
            value = Int64(unsigned)
        case 0xd0: value = Int64(Int8(truncatingIfNeeded: try readBigEndian(byteCount: 1, reading: "int8")))
        case 0xd1: value = Int64(Int16(truncatingIfNeeded: try readBigEndian(byteCount: 2, reading: "int16")))
        case 0xd2: value = Int64(Int32(truncatingIfNeeded: try readBigEndian(byteCount: 4, reading: "int32")))
        case 0xd3: value = Int64(bitPattern: try readBigEndian(byteCount: 8, reading: "int64"))
        default:
            throw WireError.unexpectedFormat(byte: marker, offset: offset, expected: "an integer")
        }
        if bits < 64 {
            let limit = Int64(1) << Int64(bits - 1)
            guard value >= -limit && value < limit else { throw WireError.integerOverflow(value: String(value), bits: bits) }
        }
        return value
    }

    public mutating func readUInt8() throws -> UInt8 { UInt8(try readUnsigned(bits: 8)) }
    public mutating func readUInt16() throws -> UInt16 { UInt16(try readUnsigned(bits: 16)) }
    public mutating func readUInt32() throws -> UInt32 { UInt32(try readUnsigned(bits: 32)) }
    public mutating func readUInt64() throws -> UInt64 { try readUnsigned(bits: 64) }

    /// A Go `int` used as a count or length: negative values are rejected here, where Go
    /// would panic allocating a negative-sized slice.
    public mutating func readCount(field: String) throws -> Int {
        let value = try readSigned(bits: 64)
        guard value >= 0 else { throw WireError.negativeInteger(value, field: field) }
        guard value <= Int64(Int.max) else { throw WireError.integerOverflow(value: String(value), bits: Int.bitWidth) }
        return Int(value)
    }

    /// 0xc2/0xc3, or the fixints 0 and 1 as Go also accepts; nil reads as false.
    public mutating func readBool() throws -> Bool {
        let offset = position
        let marker = try readByte(reading: "bool")
        switch marker {
        case 0xc2, 0x00, 0xc0: return false
        case 0xc3, 0x01: return true
        default: throw WireError.unexpectedFormat(byte: marker, offset: offset, expected: "a bool")
        }
    }

    /// float64, float32 or any integer, as Go's decodeFloat accepts; nil reads as 0.
    public mutating func readFloat64() throws -> Double {
        let offset = position
        let marker = try readByte(reading: "float")
        switch marker {
        case 0xcb: return Double(bitPattern: try readBigEndian(byteCount: 8, reading: "float64"))
        case 0xca: return Double(Float(bitPattern: UInt32(try readBigEndian(byteCount: 4, reading: "float32"))))
        case 0xc0: return 0
        default:
            position = offset
            return Double(try readSigned(bits: 64))
        }
    }

    // MARK: Strings and byte strings

    /// A Go `[]byte`: any str-family value (including str8) or bin; nil reads as nil.
    public mutating func readOptionalByteString() throws -> [UInt8]? {
        if readNilIfPresent() { return nil }
        return try readStringFamily(acceptBinary: true)
    }

    /// A Go `[]byte` where nil and empty mean the same thing.
    public mutating func readByteString() throws -> [UInt8] {
        try readOptionalByteString() ?? []
    }

    /// A Go `string`: str family only (Go rejects bin here); nil reads as "".
    /// Invalid UTF-8 is repaired with U+FFFD because Swift strings cannot hold it.
    public mutating func readString() throws -> String {
        if readNilIfPresent() { return "" }
        return String(decoding: try readStringFamily(acceptBinary: false), as: UTF8.self)
    }

    /// The raw payload of a Go `string` field, without UTF-8 repair.
    public mutating func readStringBytes() throws -> [UInt8] {
        if readNilIfPresent() { return [] }
        return try readStringFamily(acceptBinary: false)
    }

    private mutating func readStringFamily(acceptBinary: Bool) throws -> [UInt8] {
        let offset = position
        let marker = try readByte(reading: "string")
        let length: UInt64
        switch marker {
        case 0xa0...0xbf: length = UInt64(marker & 0x1f)
        case 0xd9: length = try readBigEndian(byteCount: 1, reading: "str8 length")
        case 0xda: length = try readBigEndian(byteCount: 2, reading: "str16 length")
        case 0xdb: length = try readBigEndian(byteCount: 4, reading: "str32 length")
        case 0xc4 where acceptBinary: length = try readBigEndian(byteCount: 1, reading: "bin8 length")
        case 0xc5 where acceptBinary: length = try readBigEndian(byteCount: 2, reading: "bin16 length")
        case 0xc6 where acceptBinary: length = try readBigEndian(byteCount: 4, reading: "bin32 length")
        default:
            throw WireError.unexpectedFormat(byte: marker, offset: offset,
                                             expected: acceptBinary ? "a byte string" : "a string")
        }
        return try readRaw(count: Int(length), reading: "string payload")
    }

    // MARK: Containers

    /// Entry count of a map (nil reads as 0). Fails early if the input cannot hold that many entries.
    public mutating func readMapHeader() throws -> Int {
        let offset = position
        let marker = try readByte(reading: "map")
        let count: Int
        switch marker {
        case 0x80...0x8f: count = Int(marker & 0x0f)
        case 0xde: count = Int(try readBigEndian(byteCount: 2, reading: "map16 count"))
        case 0xdf: count = Int(try readBigEndian(byteCount: 4, reading: "map32 count"))
        case 0xc0: count = 0
        default: throw WireError.unexpectedFormat(byte: marker, offset: offset, expected: "a map")
        }
        try require(2 * count, reading: "map entries")
        return count
    }

    /// Element count of an array (nil reads as 0). Fails early if the input cannot hold that many elements.
    public mutating func readArrayHeader() throws -> Int {
        let offset = position
        let marker = try readByte(reading: "array")
        let count: Int
        switch marker {
        case 0x90...0x9f: count = Int(marker & 0x0f)
        case 0xdc: count = Int(try readBigEndian(byteCount: 2, reading: "array16 count"))
        case 0xdd: count = Int(try readBigEndian(byteCount: 4, reading: "array32 count"))
        case 0xc0: count = 0
        default: throw WireError.unexpectedFormat(byte: marker, offset: offset, expected: "an array")
        }
        try require(count, reading: "array elements")
        return count
    }

    /// Skips one complete value of any type. Iterative: a counter of values still to skip
    /// replaces recursion, and it can never exceed the bytes left (each value is >= 1 byte).
    public mutating func skipValue() throws {
        var pending = 1
        while pending > 0 {
            pending -= 1
            let offset = position
            let marker = try readByte(reading: "value to skip")
            var payload = 0
            switch marker {
            case 0x00...0x7f, 0xe0...0xff, 0xc0, 0xc2, 0xc3: break
            case 0x80...0x8f: pending += 2 * Int(marker & 0x0f)
            case 0x90...0x9f: pending += Int(marker & 0x0f)
            case 0xa0...0xbf: payload = Int(marker & 0x1f)
            case 0xc4, 0xd9: payload = Int(try readBigEndian(byteCount: 1, reading: "length"))
            case 0xc5, 0xda: payload = Int(try readBigEndian(byteCount: 2, reading: "length"))
            case 0xc6, 0xdb: payload = Int(try readBigEndian(byteCount: 4, reading: "length"))
            case 0xc7: payload = 1 + Int(try readBigEndian(byteCount: 1, reading: "ext8 length"))
            case 0xc8: payload = 1 + Int(try readBigEndian(byteCount: 2, reading: "ext16 length"))
            case 0xc9: payload = 1 + Int(try readBigEndian(byteCount: 4, reading: "ext32 length"))
            case 0xca, 0xce, 0xd2: payload = 4
            case 0xcb, 0xcf, 0xd3: payload = 8
            case 0xcc, 0xd0: payload = 1
            case 0xcd, 0xd1: payload = 2
            case 0xd4: payload = 2
            case 0xd5: payload = 3
            case 0xd6: payload = 5
            case 0xd7: payload = 9
            case 0xd8: payload = 17
            case 0xdc: pending += Int(try readBigEndian(byteCount: 2, reading: "array16 count"))
            case 0xdd: pending += Int(try readBigEndian(byteCount: 4, reading: "array32 count"))
            case 0xde: pending += 2 * Int(try readBigEndian(byteCount: 2, reading: "map16 count"))
            case 0xdf: pending += 2 * Int(try readBigEndian(byteCount: 4, reading: "map32 count"))
            default: throw WireError.unexpectedFormat(byte: marker, offset: offset, expected: "a msgpack value")
            }
            try require(payload, reading: "skipped value")
            position += payload
            try require(pending, reading: "nested values")
        }
    }

    /// Starts decoding a Go struct: a map keyed by field name, a positional array in Go
    /// declaration order (Go accepts it; we never send it), or nil for an all-zero struct.
    public mutating func beginStruct(declarationOrder: [String]) throws -> MsgpackStructFields {
        let marker = try peekByte()
        switch marker {
        case 0x90...0x9f, 0xdc, 0xdd:
            return MsgpackStructFields(positional: declarationOrder, count: try readArrayHeader())
        default:
            return MsgpackStructFields(keyedCount: try readMapHeader())
        }
    }

    // MARK: Primitives

    private mutating func readByte(reading: String) throws -> UInt8 {
        try require(1, reading: reading)
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func readBigEndian(byteCount: Int, reading: String) throws -> UInt64 {
        try require(byteCount, reading: reading)
        var value: UInt64 = 0
        for index in position..<position + byteCount {
            value = value << 8 | UInt64(bytes[index])
        }
        position += byteCount
        return value
    }

    private func require(_ count: Int, reading: String) throws {
        guard count >= 0, count <= remainingCount else {
            throw WireError.truncated(needed: count, available: remainingCount, reading: reading)
        }
    }
}

/// Walks the fields of one encoded Go struct; see `MsgpackReader.beginStruct`.
///
/// Usage: `while let name = try fields.next(&reader) { switch name { case "SeqNo": ...
/// default: try reader.skipValue() } }`. Unknown keys must be skipped, as Go ignores them;
/// a repeated key overwrites the earlier value, as in Go.
public struct MsgpackStructFields: Sendable {
    private let positionalNames: [String]?
    private let count: Int
    private var index = 0

    init(positional names: [String], count: Int) {
        positionalNames = names
        self.count = count
    }

    init(keyedCount count: Int) {
        positionalNames = nil
        self.count = count
    }

    /// The next field's name, with `reader` positioned at its value; nil after the last field.
    /// Positional elements beyond the declared fields get the name "" so callers skip them.
    public mutating func next(_ reader: inout MsgpackReader) throws -> String? {
        guard index < count else { return nil }
        defer { index += 1 }
        if let positionalNames {
            return index < positionalNames.count ? positionalNames[index] : ""
        }
        return try reader.readString()
    }
}
