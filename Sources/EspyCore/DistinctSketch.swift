#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The number of distinct values among some records (`distinct=PATH`), mergeable across shards
/// and nodes without loss: exact (a set of 64-bit value hashes) up to `exactLimit` values, then
/// a HyperLogLog of 2^14 registers, whose relative standard error is 1.04/√16384 ≈ 0.81 %.
public struct DistinctSketch: Equatable, Sendable {
    private enum Storage: Equatable, Sendable {
        case exact(Set<UInt64>)
        case registers([UInt8])
    }

    private var storage: Storage = .exact([])

    public init() {}

    public static let exactLimit = 4_096
    static let precision = 14
    static let registerCount = 1 << precision
    /// The relative standard error once a sketch is no longer exact.
    public static let relativeError = 0.0081

    public var isExact: Bool {
        if case .exact = storage { return true }
        return false
    }

    public mutating func insert(_ value: String) { insert(hash: DistinctSketch.hash(value)) }

    public mutating func insert(hash: UInt64) {
        switch storage {
        case .exact(var hashes):
            storage = .exact([])  // keeps `hashes` uniquely referenced while it grows
            hashes.insert(hash)
            storage = hashes.count > DistinctSketch.exactLimit ? .registers(DistinctSketch.registers(of: hashes)) : .exact(hashes)
        case .registers(var registers):
            storage = .exact([])
            DistinctSketch.record(hash, in: &registers)
            storage = .registers(registers)
        }
    }

    public mutating func merge(_ other: DistinctSketch) {
        switch (storage, other.storage) {
        case (.exact(let mine), .exact(let theirs)):
            let union = mine.union(theirs)
            storage = union.count > DistinctSketch.exactLimit ? .registers(DistinctSketch.registers(of: union)) : .exact(union)
        case (.registers(var mine), .exact(let theirs)):
            for hash in theirs { DistinctSketch.record(hash, in: &mine) }
            storage = .registers(mine)
        case (.exact(let mine), .registers(var theirs)):
            for hash in mine { DistinctSketch.record(hash, in: &theirs) }
            storage = .registers(theirs)
        case (.registers(var mine), .registers(let theirs)):
            for index in mine.indices where theirs[index] > mine[index] { mine[index] = theirs[index] }
            storage = .registers(mine)
        }
    }

    /// Exact while exact; HyperLogLog's estimate, with linear counting for small ranges, beyond.
    public var count: Int {
        switch storage {
        case .exact(let hashes):
            return hashes.count
        case .registers(let registers):
            let m = Double(DistinctSketch.registerCount)
            var sum = 0.0
            var zeros = 0
            for register in registers {
                sum += 1 / Double(UInt64(1) << UInt64(register))
                if register == 0 { zeros += 1 }
            }
            let raw = 0.7213 / (1 + 1.079 / m) * m * m / sum
            if raw <= 2.5 * m, zeros > 0 { return Int((m * log(m / Double(zeros))).rounded()) }
            return Int(raw.rounded())
        }
    }

    private static func registers(of hashes: Set<UInt64>) -> [UInt8] {
        var registers = [UInt8](repeating: 0, count: registerCount)
        for hash in hashes { record(hash, in: &registers) }
        return registers
    }

    private static func record(_ hash: UInt64, in registers: inout [UInt8]) {
        let index = Int(hash >> UInt64(64 - precision))
        let rank = UInt8((hash << UInt64(precision) | (1 << UInt64(precision - 1))).leadingZeroBitCount + 1)
        if rank > registers[index] { registers[index] = rank }
    }

    /// FNV-1a over the value's UTF-8, then MurmurHash3's finaliser: the same on every node (Swift's
    /// `Hasher` is seeded per process), and well mixed in the high bits the registers use.
    public static func hash(_ value: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 33
        hash = hash &* 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash = hash &* 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return hash
    }

    /// For the wire: a kind byte (0 exact, 1 registers), then the hashes (8 bytes each, little
    /// endian) or the 2^14 registers.
    public var bytes: [UInt8] {
        switch storage {
        case .exact(let hashes):
            var out: [UInt8] = [0]
            out.reserveCapacity(1 + hashes.count * 8)
            for hash in hashes.sorted() { withUnsafeBytes(of: hash.littleEndian) { out.append(contentsOf: $0) } }
            return out
        case .registers(let registers):
            return [1] + registers
        }
    }

    public init?(bytes: some Collection<UInt8>) {
        guard let kind = bytes.first else { return nil }
        let body = Array(bytes.dropFirst())
        switch kind {
        case 0 where body.count % 8 == 0:
            var hashes = Set<UInt64>()
            for start in stride(from: 0, to: body.count, by: 8) {
                var hash: UInt64 = 0
                for offset in (0..<8).reversed() { hash = hash << 8 | UInt64(body[start + offset]) }
                hashes.insert(hash)
            }
            guard hashes.count <= DistinctSketch.exactLimit else { return nil }
            storage = .exact(hashes)
        case 1 where body.count == DistinctSketch.registerCount && body.allSatisfy({ $0 <= 64 - DistinctSketch.precision + 1 }):
            storage = .registers(body)
        default:
            return nil
        }
    }
}
