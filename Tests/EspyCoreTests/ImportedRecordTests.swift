import EspyCore
import XCTest

/// Records migrated with their own `server_time` (`import --keep-server-time`), and the
/// stored-record line that carries a record's id between nodes.
final class ImportedRecordTests: XCTestCase {
    private func imported(_ json: String) throws -> PreparedRecord {
        try Array(json.utf8).withUnsafeBytes { raw in
            try Result { () throws(PreparedRecord.ImportError) in try PreparedRecord.imported(json: raw, partitionCount: 64) }.get()
        }
    }

    func testTheOriginalServersTimeFormIsUTC_andRFC3339IsAcceptedToo() throws {
        XCTAssertEqual(try Timestamp(parsingImported: "2016-03-25 21:45:12.123456").description, "2016-03-25T21:45:12.123456Z")
        XCTAssertEqual(try Timestamp(parsingImported: "2016-03-25 21:45:12").description, "2016-03-25T21:45:12.000000Z")
        XCTAssertEqual(try Timestamp(parsingImported: "2016-03-25T22:45:12.5+01:00").description, "2016-03-25T21:45:12.500000Z")
        XCTAssertThrowsError(try Timestamp(parsingImported: "March 25th"))
        XCTAssertThrowsError(try Timestamp(parsingImported: "2016-03-25 25:00:00"))
    }

    func testTheRecordKeepsItsTime_andItsIdCoversIt() throws {
        let first = try imported(#"{"server_time": "2016-03-25 21:45:12.123456", "python": {"version_info": [2, 7]}}"#)
        let later = try imported(#"{"python": {"version_info": [2, 7]}, "server_time": "2016-03-26 08:00:00.000001"}"#)
        XCTAssertEqual(first.serverTime.description, "2016-03-25T21:45:12.123456Z")
        XCTAssertEqual(first.body, later.body, "the same event content")
        XCTAssertFalse(String(decoding: first.body, as: UTF8.self).contains("server_time"), "server_time is kept once, as the time")
        XCTAssertNotEqual(first.id, later.id, "events that differ only in time must stay two records")
        XCTAssertNotEqual(first.id, RecordID(content: first.body), "an imported id is not the id of a live record with the same content")
        let again = try imported(#"{"server_time": "2016-03-25 21:45:12.123456", "python": {"version_info": [2, 7]}}"#)
        XCTAssertEqual(again.id, first.id, "importing the same line again is idempotent")
    }

    func testARecordWithoutAUsableServerTimeIsRejectedWithTheReason() {
        XCTAssertThrowsError(try imported(#"{"python": 3}"#)) { XCTAssertTrue("\($0)".contains("no top-level server_time"), "\($0)") }
        XCTAssertThrowsError(try imported(#"{"server_time": 1458942312}"#))
        XCTAssertThrowsError(try imported(#"{"server_time": "yesterday"}"#)) { XCTAssertTrue("\($0)".contains("yesterday"), "\($0)") }
    }

    func testABatchWithKeepingServerTimeImportsEachRecordWithItsOwnTime() throws {
        let body = Array(("{\"server_time\": \"2016-03-25 21:45:12.123456\", \"a\": 1}\n"
                          + "{\"a\": 2}\n"
                          + "{\"server_time\": \"2017-01-01T00:00:00Z\", \"a\": 3}\n").utf8)
        let batch = try RecordBatch(body: body, framing: .ndjson, serverTime: Timestamp(microseconds: 0), partitionCount: 64,
                                    keepingServerTime: true)
        XCTAssertEqual(batch.records.map(\.serverTime.description), ["2016-03-25T21:45:12.123456Z", "2017-01-01T00:00:00.000000Z"])
        XCTAssertEqual(batch.rejections.map(\.line), [2])
    }

    func testTheStoredRecordLineCarriesTheId_soReplicasStoreWhatTheCoordinatorStored() throws {
        let record = try imported(#"{"server_time": "2016-03-25 21:45:12.123456", "a": 1}"#)
        var line: [UInt8] = []
        record.appendStored(to: &line)
        line.append(0x0A)
        let received = RecordBatch(storedRecords: line, partitionCount: 64)
        XCTAssertEqual(received.rejections.count, 0)
        XCTAssertEqual(received.records, [record])

        // A line in the exported form alone (hints kept before ids travelled) gets its body's id.
        var bare: [UInt8] = []
        record.appendExported(to: &bare)
        let old = RecordBatch(storedRecords: bare, partitionCount: 64)
        XCTAssertEqual(old.records.first?.id, RecordID(content: record.body))
        XCTAssertEqual(old.records.first?.serverTime, record.serverTime)
    }
}
