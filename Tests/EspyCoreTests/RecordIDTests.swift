import EspyCore
import XCTest

final class RecordIDTests: XCTestCase {
    private func prepared(_ json: String, partitions: Int = 4096) throws -> PreparedRecord {
        try Array(json.utf8).withUnsafeBytes { raw in
            try Result { () throws(JSONSyntaxError) in
                try PreparedRecord(json: raw, serverTime: Timestamp(microseconds: 0), partitionCount: partitions)
            }.get()
        }
    }

    func testIdIsTheFirst16BytesOfSHA256OfTheCompactJSON() {
        // SHA-256("{}") = 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
        XCTAssertEqual(RecordID(content: Array("{}".utf8)).description, "44136fa355b3678a1146ad16f7e8649e")
    }

    func testSameContentGivesSameIdRegardlessOfWhitespace() throws {
        let compact = try prepared(#"{"a":1,"b":[true,null],"c":"x y"}"#)
        let pretty = try prepared("{\n  \"a\" : 1,\n  \"b\" : [ true , null ],\n  \"c\" : \"x y\"\n}\n")
        XCTAssertEqual(compact.id, pretty.id)
        XCTAssertEqual(compact.body, pretty.body)
        XCTAssertEqual(compact.id, RecordID(content: Array(#"{"a":1,"b":[true,null],"c":"x y"}"#.utf8)))
    }

    func testClientServerTimeDoesNotChangeTheId() throws {
        XCTAssertEqual(try prepared(#"{"a":1,"server_time":"2020-01-01"}"#).id, try prepared(#"{"a":1}"#).id)
    }

    func testDifferentContentGivesDifferentIds() throws {
        XCTAssertNotEqual(try prepared(#"{"a":1}"#).id, try prepared(#"{"a":2}"#).id)
        XCTAssertNotEqual(try prepared(#"{"a":1,"b":2}"#).id, try prepared(#"{"b":2,"a":1}"#).id)
        XCTAssertNotEqual(try prepared(#"{"a":1.0}"#).id, try prepared(#"{"a":1}"#).id)
        XCTAssertNotEqual(try prepared(#"{"a":"\u0041"}"#).id, try prepared(#"{"a":"A"}"#).id)
    }

    func testHexRoundTrip() throws {
        let id = RecordID(bytes: Array(0..<16).map { UInt8($0 * 17) })
        XCTAssertEqual(id.description, "00112233445566778899aabbccddeeff")
        XCTAssertEqual(RecordID(hex: id.description), id)
        XCTAssertEqual(RecordID(hex: "00112233445566778899AABBCCDDEEFF"), id)
        let hashed = try prepared(#"{"x":42}"#).id
        XCTAssertEqual(RecordID(hex: hashed.description), hashed)
        XCTAssertEqual(hashed.description.count, 32)
    }

    func testHexRejectsWrongLengthOrNonHex() {
        XCTAssertNil(RecordID(hex: ""))
        XCTAssertNil(RecordID(hex: "00112233445566778899aabbccddeef"))
        XCTAssertNil(RecordID(hex: "00112233445566778899aabbccddeeff00"))
        XCTAssertNil(RecordID(hex: "00112233445566778899aabbccddeefg"))
        XCTAssertNil(RecordID(hex: "0x112233445566778899aabbccddeeff"))
    }

    func testPartitionIsTheBigEndianPrefixModuloTheCount() {
        let id = RecordID(bytes: [0, 0, 0, 0, 0, 0, 0x10, 0x01] + Array(repeating: 0xFF, count: 8))
        XCTAssertEqual(id.partition(of: 4096), 0x1001 % 4096)
        XCTAssertEqual(id.partition(of: 16), 1)
        XCTAssertEqual(id.partition(of: 1), 0)
        let top = RecordID(bytes: Array(repeating: 0xFF, count: 16))
        XCTAssertEqual(top.partition(of: 4096), Int(UInt64.max % 4096))
        XCTAssertEqual(top.partition(of: 1000), Int(UInt64.max % 1000))
    }

    func testPartitionIsInRangeStableAndSpread() throws {
        var seen = Set<Int>()
        for i in 0..<2000 {
            let record = try prepared(#"{"n":\#(i)}"#, partitions: 16)
            XCTAssertTrue((0..<16).contains(record.partition))
            XCTAssertEqual(record.partition, record.id.partition(of: 16))
            XCTAssertEqual(try prepared(#"{ "n" : \#(i) }"#, partitions: 16).partition, record.partition)
            seen.insert(record.partition)
        }
        XCTAssertEqual(seen.count, 16, "2,000 hashed ids should reach every one of 16 partitions")
    }
}
