/// LZW exactly as Go's `compress/lzw` with LSB bit order and 8-bit literals (spec §9).
///
/// The encoder reproduces Go's output byte for byte (greedy longest match, CLEAR first,
/// CLEAR again when the next code would be 4095, EOF last). The decoder accepts any valid
/// stream, including ones without a leading CLEAR, and never produces more than the
/// caller's limit, because LZW can expand input about 2700-fold.
public enum LZW {
    static let clearCode: UInt32 = 256
    static let endOfStreamCode: UInt32 = 257
    /// Codes start 9 bits wide (8-bit literals plus one) and grow to 12.
    static let initialWidth: UInt32 = 9
    static let maximumWidth: UInt32 = 12
    /// Go's encoder resets once the next free code reaches this, one short of 2^12.
    static let encoderResetCode: UInt32 = 4095

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var bits = LSBBitWriter(capacity: input.count / 2 + 8)
        bits.write(clearCode, width: initialWidth)
        guard let first = input.first else {
            bits.write(endOfStreamCode, width: initialWidth)
            return bits.finish()
        }

        var table = PhraseTable()
        var width = initialWidth
        var lastAssigned = endOfStreamCode   // Go's `hi`: the newest code in the table
        var widthLimit: UInt32 = 1 << initialWidth
        var pending = UInt32(first)          // code of the longest match so far

        // Emits `pending`, then takes the next code number; returns false when that
        // exhausted the table and a CLEAR was emitted, so no phrase may be added.
        func emitPendingAndAdvance() -> Bool {
            bits.write(pending, width: width)
            lastAssigned += 1
            if lastAssigned == widthLimit {
                width += 1
                widthLimit <<= 1
            }
            if lastAssigned == encoderResetCode {
                bits.write(clearCode, width: width)
                width = initialWidth
                lastAssigned = endOfStreamCode
                widthLimit = 1 << initialWidth
                table.removeAll()
                return false
            }
            return true
        }

        for byte in input.dropFirst() {
            let phrase = pending << 8 | UInt32(byte)
            if let code = table.code(for: phrase) {
                pending = code
                continue
            }
            let mayAdd = emitPendingAndAdvance()
            pending = UInt32(byte)
            if mayAdd {
                table.insert(phrase, code: lastAssigned)
            }
        }
        _ = emitPendingAndAdvance()
        bits.write(endOfStreamCode, width: width)
        return bits.finish()
    }

    public static func decompress(_ input: [UInt8], maximumOutputSize: Int) throws -> [UInt8] {
        var bits = LSBBitReader(input)
        var prefix = [UInt16](repeating: 0, count: 1 << Int(maximumWidth))
        var suffix = [UInt8](repeating: 0, count: 1 << Int(maximumWidth))
        var output: [UInt8] = []
        output.reserveCapacity(min(maximumOutputSize, input.count * 4))
        var phrase: [UInt8] = []
        phrase.reserveCapacity(1 << Int(maximumWidth))

        var width = initialWidth
        var highest = endOfStreamCode        // newest defined code (Go's `hi`)
        var widthLimit: UInt32 = 1 << initialWidth
        var previous: UInt32? = nil          // nil right after CLEAR or once the table is full

        while true {
            guard let code = bits.read(width: width) else { throw WireError.lzwMissingEndOfStream }
            if code == clearCode {
                width = initialWidth
                highest = endOfStreamCode
                widthLimit = 1 << initialWidth
                previous = nil
                continue
            }
            if code == endOfStreamCode { return output }
            guard code <= highest else { throw WireError.lzwInvalidCode(Int(code), highestDefined: Int(highest)) }

            // Spell the phrase backwards along the prefix chain. Each entry's prefix is a
            // smaller code, so the walk ends within 4096 steps even for hostile input.
            phrase.removeAll(keepingCapacity: true)
            if code == highest, let previous {
                // The code being defined right now ("KwKwK"): previous phrase plus its own first byte.
                var walk = previous
                while walk > endOfStreamCode { walk = UInt32(prefix[Int(walk)]) }
                phrase.append(UInt8(truncatingIfNeeded: walk))
                walk = previous
                while walk > endOfStreamCode {
                    phrase.append(suffix[Int(walk)])
                    walk = UInt32(prefix[Int(walk)])
                }
                phrase.append(UInt8(truncatingIfNeeded: walk))
            } else {
                var walk = code
                while walk > endOfStreamCode {
                    phrase.append(suffix[Int(walk)])
                    walk = UInt32(prefix[Int(walk)])
                }
                phrase.append(UInt8(truncatingIfNeeded: walk))
            }
            guard output.count + phrase.count <= maximumOutputSize else {
                throw WireError.outputLimitExceeded(limit: maximumOutputSize, what: "LZW output")
            }
            output.append(contentsOf: phrase.reversed())

            if let previous {
                prefix[Int(highest)] = UInt16(previous)
                suffix[Int(highest)] = phrase[phrase.count - 1]   // first byte of this code's phrase
            }
            previous = code
            highest += 1
            if highest >= widthLimit {
                if width == maximumWidth {
                    // Table full: keep decoding with fixed codes until the next CLEAR.
                    previous = nil
                    highest -= 1
                } else {
                    width += 1
                    widthLimit <<= 1
                }
            }
        }
    }
}

/// Packs codes least-significant bit first; the final partial byte is zero-padded.
private struct LSBBitWriter {
    private var output: [UInt8] = []
    private var accumulator: UInt32 = 0
    private var bitCount: UInt32 = 0

    init(capacity: Int) { output.reserveCapacity(capacity) }

    mutating func write(_ code: UInt32, width: UInt32) {
        accumulator |= code << bitCount
        bitCount += width
        while bitCount >= 8 {
            output.append(UInt8(truncatingIfNeeded: accumulator))
            accumulator >>= 8
            bitCount -= 8
        }
    }

    mutating func finish() -> [UInt8] {
        if bitCount > 0 { output.append(UInt8(truncatingIfNeeded: accumulator)) }
        accumulator = 0
        bitCount = 0
        return output
    }
}

private struct LSBBitReader {
    private let input: [UInt8]
    private var position = 0
    private var accumulator: UInt32 = 0
    private var bitCount: UInt32 = 0

    init(_ input: [UInt8]) { self.input = input }

    /// The next code, or nil when the input runs out before `width` bits are available.
    mutating func read(width: UInt32) -> UInt32? {
        while bitCount < width {
            guard position < input.count else { return nil }
            accumulator |= UInt32(input[position]) << bitCount
            position += 1
            bitCount += 8
        }
        let code = accumulator & ((1 << width) - 1)
        accumulator >>= width
        bitCount -= width
        return code
    }
}

/// Encoder dictionary: (prefix code, next byte) → code, in an open-addressed table twice
/// the size of the code space so probes stay short. Keys are < 2^20, codes < 2^12.
private struct PhraseTable {
    private static let slotBits: UInt32 = 13
    private static let emptySlot: UInt32 = 0
    private var slots = [UInt32](repeating: emptySlot, count: 1 << Int(slotBits))

    func code(for phrase: UInt32) -> UInt32? {
        var slot = Self.slot(for: phrase)
        while true {
            let entry = slots[slot]
            if entry == Self.emptySlot { return nil }
            if entry >> 12 == phrase { return entry & 0xfff }
            slot = (slot + 1) & (slots.count - 1)
        }
    }

    mutating func insert(_ phrase: UInt32, code: UInt32) {
        // Codes are >= 258, so a stored entry is never the empty marker 0.
        var slot = Self.slot(for: phrase)
        while slots[slot] != Self.emptySlot {
            slot = (slot + 1) & (slots.count - 1)
        }
        slots[slot] = phrase << 12 | code
    }

    mutating func removeAll() {
        for index in slots.indices { slots[index] = Self.emptySlot }
    }

    private static func slot(for phrase: UInt32) -> Int {
        Int((phrase &* 0x9e37_79b1) >> (32 - slotBits))
    }
}
