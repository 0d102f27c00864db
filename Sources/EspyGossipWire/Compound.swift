/// memberlist's compound message (type 7): several complete messages in one packet (spec §10).
///
/// Layout: `07`, a u8 part count, count × u16 big-endian lengths, then the parts back to back.
public enum Compound {
    /// Bytes a compound adds before its length table: the 07 type byte and the u8 count.
    /// memberlist's piggy-back budget subtracts this (its `compoundHeaderOverhead`).
    public static let headerOverhead = 2
    /// Bytes each part adds to the length table: one u16 (memberlist's `compoundOverhead`).
    public static let perPartOverhead = 2

    /// Builds a compound from complete messages (each with its own type byte).
    ///
    /// Refuses more than `WireLimits.maximumCompoundParts` parts (Go mis-parses 128+) and
    /// empty parts (a Go receiver indexes the type byte of each part and panics on an empty one).
    public static func encode(_ parts: [[UInt8]]) throws -> [UInt8] {
        guard parts.count <= WireLimits.maximumCompoundParts else {
            throw WireError.tooManyCompoundParts(parts.count, limit: WireLimits.maximumCompoundParts)
        }
        var output: [UInt8] = [MessageType.compound.rawValue, UInt8(parts.count)]
        output.reserveCapacity(2 + 2 * parts.count + parts.reduce(0) { $0 + $1.count })
        for part in parts {
            guard !part.isEmpty else { throw WireError.emptyMessage }
            guard part.count <= WireLimits.maximumCompoundPartLength else {
                throw WireError.compoundPartTooLong(part.count)
            }
            output.append(UInt8(part.count >> 8))
            output.append(UInt8(part.count & 0xff))
        }
        for part in parts {
            output.append(contentsOf: part)
        }
        return output
    }

    /// Splits a compound message (type byte included).
    public static func split(_ message: [UInt8]) throws -> CompoundParts {
        guard let first = message.first else { throw WireError.emptyMessage }
        guard first == MessageType.compound.rawValue else {
            throw WireError.unexpectedMessageType(first, expected: "compound")
        }
        return try splitBody(message, from: 1)
    }

    /// Splits the body that starts at `start`. Like Go, parts cut short by the end of the
    /// input are dropped and counted rather than failing the whole compound. Unlike Go, the
    /// length table is sized correctly for 128-255 parts.
    static func splitBody(_ bytes: [UInt8], from start: Int) throws -> CompoundParts {
        guard start < bytes.count else {
            throw WireError.truncated(needed: 1, available: 0, reading: "compound part count")
        }
        let count = Int(bytes[start])
        var offset = start + 1
        guard bytes.count - offset >= 2 * count else {
            throw WireError.truncated(needed: 2 * count, available: bytes.count - offset, reading: "compound length table")
        }
        let lengths = (0..<count).map { index in
            Int(bytes[offset + 2 * index]) << 8 | Int(bytes[offset + 2 * index + 1])
        }
        offset += 2 * count

        var result = CompoundParts(parts: [], truncatedPartCount: 0)
        result.parts.reserveCapacity(count)
        for (index, length) in lengths.enumerated() {
            guard bytes.count - offset >= length else {
                result.truncatedPartCount = count - index
                break
            }
            result.parts.append(Array(bytes[offset..<offset + length]))
            offset += length
        }
        return result
    }
}

/// The parts of a compound message, and how many trailing parts were cut off.
public struct CompoundParts: Equatable, Sendable {
    public var parts: [[UInt8]]
    public var truncatedPartCount: Int

    public init(parts: [[UInt8]], truncatedPartCount: Int) {
        self.parts = parts
        self.truncatedPartCount = truncatedPartCount
    }
}
