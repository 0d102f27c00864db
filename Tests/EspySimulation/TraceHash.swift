/// FNV-1a (64-bit) over everything observable in a run: two runs with equal hashes delivered
/// the same packets and saw the same membership events at the same virtual times.
/// (Swift's `Hasher` is seeded per process, so it cannot compare runs.)
public struct TraceHash: Equatable, Sendable, CustomStringConvertible {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func mix(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    public mutating func mix(_ number: UInt64) {
        var rest = number
        for _ in 0..<8 {
            mix(UInt8(truncatingIfNeeded: rest))
            rest >>= 8
        }
    }

    public mutating func mix(_ number: Int) { mix(UInt64(bitPattern: Int64(number))) }

    /// Eight bytes per step (as one word), since packets are hashed whole.
    public mutating func mix(_ bytes: [UInt8]) {
        mix(bytes.count)
        var word: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            word = word << 8 | UInt64(byte)
            if index & 7 == 7 {
                mixWord(word)
                word = 0
            }
        }
        mixWord(word)
    }

    private mutating func mixWord(_ word: UInt64) {
        value = (value ^ word) &* 0x0000_0100_0000_01b3
        value ^= value >> 29
    }

    public mutating func mix(_ text: String) {
        mix(text.utf8.count)
        for byte in text.utf8 { mix(byte) }
    }

    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
