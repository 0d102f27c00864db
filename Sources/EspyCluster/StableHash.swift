/// Hashes that give the same answer on every node, process, platform and Swift version.
///
/// Swift's `Hasher` is seeded randomly per process, so two nodes would place partitions
/// differently; placement and view digests must use these instead.
enum StableHash {
    /// 64-bit FNV-1a, fed field by field. Simple and fully specified, which is what a digest that
    /// operators compare across nodes needs; its weak mixing is repaired by `mix` where the bits
    /// feed placement.
    struct FNV1a64 {
        static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
        static let prime: UInt64 = 0x0000_0100_0000_01b3

        private(set) var value: UInt64 = offsetBasis

        mutating func combine(byte: UInt8) {
            value = (value ^ UInt64(byte)) &* FNV1a64.prime
        }

        /// Eight bytes, big-endian, so the encoding does not depend on the host's byte order.
        mutating func combine(_ number: UInt64) {
            for shift in stride(from: 56, through: 0, by: -8) { combine(byte: UInt8(truncatingIfNeeded: number >> UInt64(shift))) }
        }

        /// Length-prefixed, so ("ab", "c") and ("a", "bc") encode differently.
        mutating func combine(_ text: String) {
            combine(UInt64(text.utf8.count))
            for byte in text.utf8 { combine(byte: byte) }
        }
    }

    static func fnv1a64(_ text: String) -> UInt64 {
        var hasher = FNV1a64()
        for byte in text.utf8 { hasher.combine(byte: byte) }
        return hasher.value
    }

    /// The SplitMix64 finalizer (Stafford's "Mix13" constants): a bijection on 64 bits in which
    /// every input bit flips each output bit with probability close to 1/2. Rendezvous hashing
    /// needs exactly that, or nodes with similar names win similar sets of partitions.
    static func mix(_ input: UInt64) -> UInt64 {
        var z = input
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The 64-bit golden ratio, added before mixing so partition 0 does not hash from zero.
    static let goldenGamma: UInt64 = 0x9e37_79b9_7f4a_7c15

    static func hex(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int((value >> UInt64(shift)) & 0xF)]) }
        return String(decoding: text, as: UTF8.self)
    }
}
