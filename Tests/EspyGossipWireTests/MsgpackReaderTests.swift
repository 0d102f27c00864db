@testable import EspyGossipWire
import XCTest

/// Decoding accepts what go-msgpack accepts and rejects hostile lengths without allocating.
final class MsgpackReaderTests: XCTestCase {
    func testIntegersInAnyFormat() throws {
        for encoding in ["05", "cc05", "cd0005", "ce00000005", "cf0000000000000005", "d005", "d10005", "d200000005", "d30000000000000005", "c0"] {
            var reader = MsgpackReader(hex(encoding))
            XCTAssertEqual(try reader.readUInt32(), encoding == "c0" ? 0 : 5, encoding)
            XCTAssertTrue(reader.isAtEnd)
        }
        var negative = MsgpackReader(hex("ff d0ff d3ffffffffffffffff"))
        XCTAssertEqual(try negative.readSigned(bits: 64), -1)
        XCTAssertEqual(try negative.readSigned(bits: 8), -1)
        XCTAssertEqual(try negative.readSigned(bits: 64), -1)
    }

    func testIntegerRangeChecks() {
        var overflow = MsgpackReader(hex("ce00010000"))
        XCTAssertThrowsWireError(.integerOverflow(value: "65536", bits: 16), try overflow.readUInt16())
        var negativeForUnsigned = MsgpackReader(hex("ff"))
        XCTAssertThrowsWireError(.negativeInteger(-1, field: "an unsigned field"), try negativeForUnsigned.readUInt32())
        var negativeCount = MsgpackReader(hex("d0fe"))
        XCTAssertThrowsWireError(.negativeInteger(-2, field: "Nodes"), try negativeCount.readCount(field: "Nodes"))
        var hugeSigned = MsgpackReader(hex("cfffffffffffffffff"))
        XCTAssertThrowsWireError(.integerOverflow(value: String(UInt64.max), bits: 64), try hugeSigned.readSigned(bits: 64))
        var notAnInteger = MsgpackReader(hex("a161"))
        XCTAssertThrowsWireError(.unexpectedFormat(byte: 0xa1, offset: 0, expected: "an integer"), try notAnInteger.readUInt8())
    }

    func testBoolsAcceptFixintZeroAndOne() throws {
        var reader = MsgpackReader(hex("c3 c2 01 00 c0"))
        XCTAssertEqual(try [reader.readBool(), reader.readBool(), reader.readBool(), reader.readBool(), reader.readBool()],
                       [true, false, true, false, false])
        var bad = MsgpackReader(hex("02"))
        XCTAssertThrowsWireError(.unexpectedFormat(byte: 0x02, offset: 0, expected: "a bool"), try bad.readBool())
    }

    func testFloatsAcceptFloat32AndIntegers() throws {
        var reader = MsgpackReader(hex("cb3ff0000000000000 ca40000000 03 c0"))
        XCTAssertEqual(try reader.readFloat64(), 1.0)
        XCTAssertEqual(try reader.readFloat64(), 2.0)
        XCTAssertEqual(try reader.readFloat64(), 3.0)
        XCTAssertEqual(try reader.readFloat64(), 0.0)
    }

    func testByteStringsAcceptStr8AndBinButStringsRejectBin() throws {
        var bytes = MsgpackReader(hex("d903616263 c403616263 c50003616263 c600000003616263 db00000003616263 c0 a0"))
        for _ in 0..<5 { XCTAssertEqual(try bytes.readOptionalByteString(), ascii("abc")) }
        XCTAssertNil(try bytes.readOptionalByteString())
        XCTAssertEqual(try bytes.readOptionalByteString(), [])

        var strings = MsgpackReader(hex("d903616263 c0"))
        XCTAssertEqual(try strings.readString(), "abc")
        XCTAssertEqual(try strings.readString(), "")
        var binary = MsgpackReader(hex("c403616263"))
        XCTAssertThrowsWireError(.unexpectedFormat(byte: 0xc4, offset: 0, expected: "a string"), try binary.readString())
    }

    func testStringPayloadsStayRawBytes() throws {
        var reader = MsgpackReader(hex("a2ff80 a2ff80"))
        XCTAssertEqual(try reader.readByteString(), [0xff, 0x80])
        XCTAssertEqual(try reader.readString(), "\u{FFFD}\u{FFFD}", "invalid UTF-8 is repaired, not rejected")
    }

    func testHostileLengthsAreTruncationsNotAllocations() {
        var str32 = MsgpackReader(hex("dbffffffff 00"))
        let error = XCTAssertThrowsAnyWireError(try str32.readByteString())
        XCTAssertEqual(error?.isTruncation, true)
        var map32 = MsgpackReader(hex("dfffffffff"))
        XCTAssertThrowsWireError(.truncated(needed: 2 * 0xffff_ffff, available: 0, reading: "map entries"), try map32.readMapHeader())
        var array32 = MsgpackReader(hex("ddffffffff 01"))
        XCTAssertThrowsWireError(.truncated(needed: 0xffff_ffff, available: 1, reading: "array elements"), try array32.readArrayHeader())
        var skipHuge = MsgpackReader(hex("dfffffffff"))
        XCTAssertEqual(XCTAssertThrowsAnyWireError(try skipHuge.skipValue())?.isTruncation, true)
        var empty = MsgpackReader([])
        XCTAssertEqual(XCTAssertThrowsAnyWireError(try empty.readUInt8())?.isTruncation, true)
    }

    func testSkipHandlesEveryTypeWithoutRecursion() throws {
        let values = hex("""
            c0 c2 c3 7f e0 cc01 cd0102 ce01020304 cf0102030405060708 d001 d10102 d201020304 d30102030405060708
            ca01020304 cb0102030405060708 a3616263 d903616263 da0003616263 db00000003616263
            c403010203 c5000101 c60000000101 d40101 d5010102 d60101020304 d7010102030405060708
            d801000102030405060708090a0b0c0d0e0f c70201aabb c8000101aa c900000001 01aa
            92 01 02 dc0001 01 dd00000001 01 81 a16b 02 de0001 a16b 02 df00000001 a16b 02
            """)
        var reader = MsgpackReader(values)
        var skipped = 0
        while !reader.isAtEnd {
            try reader.skipValue()
            skipped += 1
        }
        XCTAssertEqual(skipped, 36)

        // 100 000 nested single-element arrays: an explicit counter, no recursion, no stack overflow.
        var deep = MsgpackReader(Array(repeating: 0x91, count: 100_000) + [0x00, 0x2a])
        try deep.skipValue()
        XCTAssertEqual(try deep.readUInt8(), 42)

        var neverUsed = MsgpackReader(hex("c1"))
        XCTAssertThrowsWireError(.unexpectedFormat(byte: 0xc1, offset: 0, expected: "a msgpack value"), try neverUsed.skipValue())
    }

    func testStructsIgnoreUnknownKeysAndAcceptAnyOrder() throws {
        // SeqNo first, an unknown nested key in between, Node last.
        var writer = MsgpackWriter()
        writer.writeMapHeader(count: 3)
        writer.writeString("SeqNo"); writer.writeUnsigned(9)
        writer.writeString("Extra"); writer.writeArrayHeader(count: 2); writer.writeMapHeader(count: 1)
        writer.writeString("k"); writer.writeFloat64(1); writer.writeByteString(ascii("zz"))
        writer.writeString("Node"); writer.writeString("b")
        XCTAssertEqual(try PingMessage(msgpack: writer.bytes), PingMessage(seqNo: 9, node: "b"))
    }

    func testStructsAcceptPositionalArraysNilAndMissingKeys() throws {
        // Go declaration order for ping: SeqNo, Node, SourceAddr, SourcePort, SourceNode, then extras are skipped.
        let positional = hex("96 07 a162 a47f000001 cd1f0a a161 c3")
        XCTAssertEqual(try PingMessage(msgpack: positional), Fixture.pingB)
        XCTAssertEqual(try PingMessage(msgpack: hex("c0")), PingMessage(seqNo: 0, node: ""))
        XCTAssertEqual(try AckMessage(msgpack: hex("81 a5 5365714e6f 05")), AckMessage(seqNo: 5, payload: nil))
        XCTAssertEqual(try NackMessage(msgpack: hex("82 a5 5365714e6f 05 a5 5365714e6f 06")), NackMessage(seqNo: 6), "last duplicate wins")
        XCTAssertEqual(try NackMessage(msgpack: hex("81 c0 05")), NackMessage(seqNo: 0), "a nil key matches no field")
    }

    func testStructRejectsNonContainers() {
        XCTAssertThrowsWireError(.unexpectedFormat(byte: 0x05, offset: 0, expected: "a map"), try NackMessage(msgpack: hex("05")))
        // go-msgpack's loose "any byte with the fixmap bits set" quirk is not copied: 0xe1 is a negative fixint.
        XCTAssertThrowsAnyWireError(try NackMessage(msgpack: hex("e1")))
        XCTAssertThrowsWireError(.unexpectedFormat(byte: 0xc4, offset: 1, expected: "a string"),
                                 try NackMessage(msgpack: hex("81 c4 05 5365714e6f 05")))
    }
}
