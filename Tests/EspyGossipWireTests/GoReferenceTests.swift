@testable import EspyGossipWire
import XCTest

/// Golden values produced once by the reference Go code (Go 1.19 `compress/lzw`,
/// go-msgpack 0.5.5 from Debian 12) from inputs both sides can generate, so byte-exact
/// agreement is checked beyond the spec's vectors, across many 4095-code resets.
final class GoReferenceTests: XCTestCase {
    /// The same 64-bit LCG the Go generator used; variant 1 maps to "abcd" for long matches.
    private func generated(count: Int, lowEntropy: Bool) -> [UInt8] {
        var state: UInt64 = 12345
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let byte = UInt8(state >> 56)
            return lowEntropy ? UInt8(ascii: "a") + byte % 4 : byte
        }
    }

    func testLZWMatchesGoAcrossResets() throws {
        let golden: [(lowEntropy: Bool, count: Int, length: Int, crc: UInt32)] = [
            (false, 0, 3, 0x3a62_ebfd), (false, 1, 4, 0x69ff_001e), (false, 100, 115, 0xf414_00bd),
            (false, 1400, 1785, 0xab86_244c), (false, 5000, 6730, 0xe055_353b), (false, 40000, 54752, 0x8f0d_588a),
            (false, 100_000, 136_954, 0x3f5d_d3e8),
            (true, 1, 4, 0xd1ac_f618), (true, 100, 60, 0x36bc_9d0b), (true, 1400, 518, 0x4a48_84dc),
            (true, 5000, 1619, 0xe98b_bc57), (true, 40000, 12032, 0x6ad0_6829), (true, 100_000, 29890, 0x7ad4_acdb),
        ]
        for entry in golden {
            let input = generated(count: entry.count, lowEntropy: entry.lowEntropy)
            let compressed = LZW.compress(input)
            XCTAssertEqual(compressed.count, entry.length, "\(entry)")
            XCTAssertEqual(CRC32.checksum(compressed), entry.crc, "\(entry)")
            XCTAssertEqual(try LZW.decompress(compressed, maximumOutputSize: 1 << 20), input)
        }
    }

    func testMsgpackEdgeEncodingsMatchGo() throws {
        XCTAssertEqual(hexString(PushPullHeader(nodes: 300, userStateLen: 70000, join: false).msgpackEncoded()),
                       "83a44a6f696ec2a54e6f646573cd012cac5573657253746174654c656ece00011170")

        let alive = AliveMessage(incarnation: 70000, node: "n", addr: [1, 2, 3, 4], port: 0,
                                 meta: Array(repeating: UInt8(ascii: "m"), count: 40), versions: nil)
        XCTAssertEqual(hexString(alive.msgpackEncoded()),
                       "86a441646472a401020304ab496e6361726e6174696f6ece00011170a44d657461da0028"
                           + String(repeating: "6d", count: 40) + "a44e6f6465a16ea4506f727400a356736ec0")

        // Only the non-empty omitempty field is written.
        XCTAssertEqual(hexString(PingMessage(seqNo: 300, node: "", sourceAddr: [1, 2, 3, 4]).msgpackEncoded()),
                       "83a44e6f6465a0a55365714e6fcd012caa536f7572636541646472a401020304")

        let left = PushNodeState(name: "x", addr: [], port: 65535, meta: [], incarnation: .max, state: .left, versions: .serfAgent)
        XCTAssertEqual(hexString(left.msgpackEncoded()),
                       "87a441646472c0ab496e6361726e6174696f6eceffffffffa44d657461a0a44e616d65a178a4506f7274cdffffa5537461746503a356736ea6010502020505")

        XCTAssertEqual(hexString(try SerfTags.encode(["k": "v"])), "ff" + "81a16ba176")
    }
}
