@testable import EspyGossipWire
import EspyTestRandom
import XCTest

/// LZW beyond the spec vectors: code-width growth, the 4095-code reset, hostile streams.
final class LZWTests: XCTestCase {
    private let generousLimit = 1 << 22

    func testRoundTripsRandomDataOfManySizes() throws {
        var generator = SplitMix64(seed: 0x1a2b)
        var sizes = Array(0...64) + [255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1400, 2047, 2048, 4095, 4096, 4097, 10_000]
        sizes += (0..<20).map { _ in Int.random(in: 1...20_000, using: &generator) }
        for size in sizes {
            let random = generator.bytes(size)
            XCTAssertEqual(try LZW.decompress(LZW.compress(random), maximumOutputSize: generousLimit), random, "random \(size)")
            // Few distinct bytes give long matches and many table entries per input byte.
            let lowEntropy = (0..<size).map { _ in UInt8.random(in: 0...3, using: &generator) }
            XCTAssertEqual(try LZW.decompress(LZW.compress(lowEntropy), maximumOutputSize: generousLimit), lowEntropy, "low entropy \(size)")
        }
    }

    func testLongInputsCrossTheCodeTableResetManyTimes() throws {
        var generator = SplitMix64(seed: 99)
        let text = (0..<40_000).map { _ in UInt8.random(in: 0x61...0x7a, using: &generator) }
        let compressed = LZW.compress(text)
        XCTAssertLessThan(compressed.count, text.count)
        XCTAssertEqual(try LZW.decompress(compressed, maximumOutputSize: generousLimit), text)

        let runs = [UInt8](repeating: 0x61, count: 3_000_000)   // the KwKwK case, over and over
        XCTAssertEqual(try LZW.decompress(LZW.compress(runs), maximumOutputSize: generousLimit), runs)
    }

    /// With every adjacent byte pair distinct, each input byte costs exactly one literal code,
    /// so the output length follows from the width rules alone: 9 bits until the next code
    /// would be 512, then 10, 11, 12, and a CLEAR (at 12 bits) once 4095 is reached.
    func testCodeWidthsGrowAndResetExactlyLikeGo() throws {
        for count in [1, 254, 255, 256, 766, 767, 768, 1790, 1791, 1792, 3837, 3838, 3839, 5000, 9000] {
            let input = distinctPairSequence(count: count)
            let compressed = LZW.compress(input)
            XCTAssertEqual(compressed.count, expectedLengthForLiteralCodes(count), "\(count) literal codes")
            XCTAssertEqual(try LZW.decompress(compressed, maximumOutputSize: generousLimit), input)
        }
    }

    func testDecoderAcceptsStreamsWithoutLeadingClearAndIgnoresTrailingBytes() throws {
        var bits = TestBitWriter()
        bits.write(0x61, width: 9)
        bits.write(257, width: 9)
        XCTAssertEqual(bits.bytes, hex("610202"))
        XCTAssertEqual(try LZW.decompress(bits.bytes, maximumOutputSize: 10), ascii("a"))
        XCTAssertEqual(try LZW.decompress(hex("00c30404 ffff"), maximumOutputSize: 10), ascii("a"))
    }

    /// Another encoder may let the table fill to 4096 without a CLEAR; Go's decoder then keeps
    /// decoding with fixed 12-bit codes and adds no entries. Ours must too.
    func testDecoderHandlesAFullTableWithoutClear() throws {
        var bits = TestBitWriter()
        bits.write(256, width: 9)
        var width = 9, highest = 257
        var expected: [UInt8] = []
        for index in 0..<5000 {
            let literal = UInt8(index % 251)
            bits.write(UInt32(literal), width: width)
            expected.append(literal)
            highest += 1
            if highest >= 1 << width {
                if width == 12 { highest -= 1 } else { width += 1 }
            }
        }
        bits.write(4095, width: 12)   // the last entry defined before the table filled
        bits.write(257, width: 12)
        let decoded = try LZW.decompress(bits.bytes, maximumOutputSize: generousLimit)
        XCTAssertEqual(Array(decoded.prefix(5000)), expected)
        XCTAssertEqual(decoded.count, 5002, "entry 4095 spells two bytes")
    }

    func testHostileStreamsFailCleanly() {
        XCTAssertThrowsWireError(.lzwMissingEndOfStream, try LZW.decompress([], maximumOutputSize: 10))
        XCTAssertThrowsWireError(.lzwMissingEndOfStream, try LZW.decompress(Array(LZW.compress(ascii("abcdef")).dropLast()), maximumOutputSize: 10))
        var bits = TestBitWriter()
        bits.write(256, width: 9)
        bits.write(300, width: 9)
        XCTAssertThrowsWireError(.lzwInvalidCode(300, highestDefined: 257), try LZW.decompress(bits.bytes, maximumOutputSize: 10))
        XCTAssertThrowsWireError(.unknownCompressionAlgorithm(1),
                                 try CompressMessage(algorithm: 1, buffer: hex("000302")).decompressed(maximumSize: 10))
    }

    func testOutputLimitStopsDecompressionBombs() {
        let bomb = LZW.compress([UInt8](repeating: 0, count: 2 * 1024 * 1024))
        XCTAssertLessThan(bomb.count, 8 * 1024, "2 MiB of zeros compresses to a few KiB")
        XCTAssertThrowsWireError(.outputLimitExceeded(limit: 1024 * 1024, what: "LZW output"),
                                 try LZW.decompress(bomb, maximumOutputSize: 1024 * 1024))
        XCTAssertThrowsWireError(.outputLimitExceeded(limit: 0, what: "LZW output"), try LZW.decompress(hex("00c30404"), maximumOutputSize: 0))
    }

    func testCRC32KnownValues() {
        XCTAssertEqual(CRC32.checksum(ascii("123456789")), 0xcbf4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32.checksum(ascii("The quick brown fox jumps over the lazy dog")), 0x414f_a339)
    }

    // MARK: Helpers

    /// Bytes whose adjacent pairs never repeat (a seeded walk over unused byte pairs).
    private func distinctPairSequence(count: Int) -> [UInt8] {
        var generator = SplitMix64(seed: UInt64(count))
        var used = Set<UInt16>()
        var sequence: [UInt8] = [0]
        while sequence.count < count {
            let last = sequence[sequence.count - 1]
            let start = Int.random(in: 0...255, using: &generator)
            guard let next = (0..<256).lazy.map({ UInt8((start + $0) % 256) })
                .first(where: { !used.contains(UInt16(last) << 8 | UInt16($0)) }) else { break }
            used.insert(UInt16(last) << 8 | UInt16(next))
            sequence.append(next)
        }
        precondition(sequence.count == count)
        return sequence
    }

    /// An independent model of Go's writer for `count` literal codes.
    private func expectedLengthForLiteralCodes(_ count: Int) -> Int {
        var width = 9, highest = 257, bits = 9   // leading CLEAR
        for _ in 0..<count {
            bits += width
            highest += 1
            if highest == 1 << width { width += 1 }
            if highest == 4095 {
                bits += width                     // CLEAR at the current width
                width = 9
                highest = 257
            }
        }
        bits += width                             // EOF
        return (bits + 7) / 8
    }
}

/// LSB-first code packing written independently of the module's encoder.
struct TestBitWriter {
    private var complete: [UInt8] = []
    private var pending: UInt64 = 0
    private var pendingBits = 0

    mutating func write(_ code: UInt32, width: Int) {
        pending |= UInt64(code) << UInt64(pendingBits)
        pendingBits += width
        while pendingBits >= 8 {
            complete.append(UInt8(pending & 0xff))
            pending >>= 8
            pendingBits -= 8
        }
    }

    /// Everything written so far, the last partial byte zero-padded.
    var bytes: [UInt8] { pendingBits > 0 ? complete + [UInt8(pending & 0xff)] : complete }
}
