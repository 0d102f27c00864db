@testable import EspyGossipWire
import XCTest

/// Encodings must match go-msgpack's raw/old-spec mode exactly (spec §4).
final class MsgpackWriterTests: XCTestCase {
    private func written(_ body: (inout MsgpackWriter) -> Void) -> String {
        var writer = MsgpackWriter()
        body(&writer)
        return hexString(writer.bytes)
    }

    func testUnsignedUsesSmallestEncoding() {
        let cases: [(UInt64, String)] = [
            (0, "00"), (127, "7f"), (128, "cc80"), (255, "ccff"), (256, "cd0100"), (27946, "cd6d2a"),
            (65535, "cdffff"), (65536, "ce00010000"), (0xffff_ffff, "ceffffffff"),
            (0x1_0000_0000, "cf0000000100000000"), (UInt64.max, "cfffffffffffffffff"),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(written { $0.writeUnsigned(value) }, expected, "\(value)")
        }
    }

    func testSignedNonNegativeIsWrittenAsUnsigned() {
        let cases: [(Int64, String)] = [
            (0, "00"), (589, "cd024d"), (-1, "ff"), (-32, "e0"), (-33, "d0df"), (-128, "d080"),
            (-129, "d1ff7f"), (-32768, "d18000"), (-32769, "d2ffff7fff"), (Int64(Int32.min) - 1, "d3ffffffff7fffffff"),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(written { $0.writeSigned(value) }, expected, "\(value)")
        }
    }

    func testByteStringsUseStrFamilyWithoutStr8() {
        XCTAssertEqual(written { $0.writeByteString([UInt8]()) }, "a0")
        XCTAssertEqual(written { $0.writeByteString([UInt8](repeating: 1, count: 31)) }.prefix(2), "bf")
        let thirtyTwo = written { $0.writeByteString([UInt8](repeating: 1, count: 32)) }
        XCTAssertEqual(thirtyTwo.prefix(6), "da0020", "32 bytes must be str16, never str8 (d9)")
        XCTAssertEqual(written { $0.writeByteString([UInt8](repeating: 1, count: 255)) }.prefix(6), "da00ff")
        XCTAssertEqual(written { $0.writeByteString([UInt8](repeating: 1, count: 65535)) }.prefix(6), "daffff")
        XCTAssertEqual(written { $0.writeByteString([UInt8](repeating: 1, count: 65536)) }.prefix(10), "db00010000")
        XCTAssertEqual(written { $0.writeString("node3") }, "a56e6f646533")
    }

    func testNilBoolFloatAndOptionalBytes() {
        XCTAssertEqual(written { $0.writeNil() }, "c0")
        XCTAssertEqual(written { $0.writeBool(true); $0.writeBool(false) }, "c3c2")
        XCTAssertEqual(written { $0.writeFloat64(1.0) }, "cb3ff0000000000000")
        XCTAssertEqual(written { $0.writeOptionalByteString(nil) }, "c0")
        XCTAssertEqual(written { $0.writeOptionalByteString([]) }, "a0")
        XCTAssertEqual(written { $0.writeByteStringOrNilIfEmpty([]) }, "c0")
        XCTAssertEqual(written { $0.writeByteStringOrNilIfEmpty([1]) }, "a101")
    }

    func testContainerHeaders() {
        XCTAssertEqual(written { $0.writeMapHeader(count: 0) }, "80")
        XCTAssertEqual(written { $0.writeMapHeader(count: 15) }, "8f")
        XCTAssertEqual(written { $0.writeMapHeader(count: 16) }, "de0010")
        XCTAssertEqual(written { $0.writeMapHeader(count: 65536) }, "df00010000")
        XCTAssertEqual(written { $0.writeArrayHeader(count: 8) }, "98")
        XCTAssertEqual(written { $0.writeArrayHeader(count: 512) }, "dc0200")
        XCTAssertEqual(written { $0.writeArrayHeader(count: 70000) }, "dd00011170")
    }

    /// go-msgpack writes struct keys sorted by their bytes; check every encoder follows suit.
    func testEveryEncoderWritesKeysInByteOrder() throws {
        let encodings: [[UInt8]] = [
            Fixture.pingB.msgpackEncoded(),
            IndirectPingMessage(seqNo: 1, target: [1], port: 2, node: "n", nack: true, sourceAddr: [1], sourcePort: 3,
                                sourceNode: "s").msgpackEncoded(),
            AckMessage(seqNo: 1, payload: [1]).msgpackEncoded(),
            SuspectMessage(incarnation: 1, node: "n", from: "f").msgpackEncoded(),
            DeadMessage(incarnation: 1, node: "n", from: "f").msgpackEncoded(),
            Fixture.aliveA.msgpackEncoded(),
            PushPullHeader(nodes: 1, userStateLen: 2, join: true).msgpackEncoded(),
            PushNodeState(name: "n", addr: [1], port: 1, meta: nil, incarnation: 1, state: .left).msgpackEncoded(),
            CompressMessage(compressing: [1]).msgpackEncoded(),
            SerfLeaveIntent(lTime: 1, node: "n").msgpackEncoded(),
            SerfJoinIntent(lTime: 1, node: "n").msgpackEncoded(),
        ]
        for encoding in encodings {
            var reader = MsgpackReader(encoding)
            let count = try reader.readMapHeader()
            var keys: [[UInt8]] = []
            for _ in 0..<count {
                keys.append(try reader.readStringBytes())
                try reader.skipValue()
            }
            XCTAssertTrue(reader.isAtEnd)
            XCTAssertEqual(keys, keys.sorted { $0.lexicographicallyPrecedes($1) }, "\(keys.map { String(decoding: $0, as: UTF8.self) })")
        }
    }
}
