import EspyCore
import XCTest

final class RecordBatchTests: XCTestCase {
    private let serverTime = Timestamp(microseconds: 1_795_945_910_000_000)

    private func batch(_ body: String, _ framing: RecordBatch.Framing) throws -> RecordBatch {
        try RecordBatch(body: Array(body.utf8), framing: framing, serverTime: serverTime, partitionCount: 16)
    }

    private func bodies(_ batch: RecordBatch) -> [String] {
        batch.records.map { String(decoding: $0.body, as: UTF8.self) }
    }

    // MARK: NDJSON

    func testNDJSONSkipsBlankLinesAndCompactsEachRecord() throws {
        let result = try batch("{\"a\": 1}\n\n   \n{\"b\" : 2}\r\n\t\n{\"c\":3}", .ndjson)
        XCTAssertEqual(bodies(result), [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#])
        XCTAssertEqual(result.rejections, [])
    }

    func testRecordsCarryTheServerTimeAndPartition() throws {
        let result = try batch(#"{"a":1,"server_time":"1999-01-01"}"#, .ndjson)
        XCTAssertEqual(result.records.count, 1)
        XCTAssertEqual(result.records[0].serverTime, serverTime)
        XCTAssertEqual(result.records[0].body, Array(#"{"a":1}"#.utf8))
        XCTAssertEqual(result.records[0].partition, result.records[0].id.partition(of: 16))
    }

    func testNDJSONBadLinesAreReportedWithIndexAndLineAndTheRestStored() throws {
        let body = """
            {"ok": 1}

            {"broken": }
            [1, 2]
            {"ok": 2}

            not json
            {"ok": 3}
            """
        let result = try batch(body, .ndjson)
        XCTAssertEqual(bodies(result), [#"{"ok":1}"#, #"{"ok":2}"#, #"{"ok":3}"#])
        XCTAssertEqual(result.rejections.map(\.index), [1, 2, 4])
        XCTAssertEqual(result.rejections.map(\.line), [3, 4, 7])
        XCTAssertTrue(result.rejections[1].reason.contains("object"), result.rejections[1].reason)
        XCTAssertFalse(result.rejections.contains { $0.reason.isEmpty })
    }

    func testNDJSONTrailingNewlineAddsNoRecord() throws {
        let result = try batch("{\"a\":1}\n{\"a\":2}\n", .ndjson)
        XCTAssertEqual(result.records.count, 2)
        XCTAssertEqual(result.rejections.count, 0)
    }

    func testNDJSONRecordSpreadOverTwoLinesIsRejectedLineByLine() throws {
        let result = try batch("{\"a\":\n1}\n{\"b\":2}", .ndjson)
        XCTAssertEqual(bodies(result), [#"{"b":2}"#])
        XCTAssertEqual(result.rejections.map(\.line), [1, 2])
    }

    // MARK: JSON array

    func testJSONArrayOfObjects() throws {
        let result = try batch(" [ {\"a\": 1} ,\n{\"b\":[2, 3]} ] \n", .jsonArray)
        XCTAssertEqual(bodies(result), [#"{"a":1}"#, #"{"b":[2,3]}"#])
        XCTAssertEqual(result.rejections, [])
    }

    func testEmptyJSONArrayHasNoRecords() throws {
        let result = try batch("[ ]", .jsonArray)
        XCTAssertEqual(result.records.count, 0)
        XCTAssertEqual(result.rejections.count, 0)
    }

    func testNonObjectArrayElementsAreRejectedIndividually() throws {
        let result = try batch(#"[{"a":1}, 2, "s", {"b":2}, [], null, {"c":3}]"#, .jsonArray)
        XCTAssertEqual(bodies(result), [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#])
        XCTAssertEqual(result.rejections.map(\.index), [1, 2, 4, 5])
        XCTAssertEqual(result.rejections.map(\.line), [nil, nil, nil, nil])
        XCTAssertTrue(result.rejections.allSatisfy { $0.reason.contains("object") })
    }

    /// The Python collector sends arrays: one bad profile must not cost the others.
    func testSyntaxErrorInsideAnElementRejectsOnlyThatElement() throws {
        let result = try batch(#"[{"a":1}, {"b":}, {"c":3}]"#, .jsonArray)
        XCTAssertEqual(bodies(result), [#"{"a":1}"#, #"{"c":3}"#])
        XCTAssertEqual(result.rejections.map(\.index), [1])
        XCTAssertEqual(result.rejections.map(\.line), [nil])
        XCTAssertTrue(result.rejections[0].reason.contains("unexpected character"), result.rejections[0].reason)
    }

    func testEachKindOfBadElementIsRejectedOnItsOwn() throws {
        let elements = [#"{"ok":0}"#, #"{"a" 1}"#, #"{"x":"\q"}"#, "tru", #"{"d":1,"d":2}"#, #"{"n":01}"#,
                        #"{"s":"has ] and } and , inside"}"#, #"{"deep":[[{"x":[1,,2]}]]}"#, "-", #"{"ok":1}"#]
        let result = try batch("[" + elements.joined(separator: ", ") + "]", .jsonArray)
        XCTAssertEqual(bodies(result), [#"{"ok":0}"#, #"{"s":"has ] and } and , inside"}"#, #"{"ok":1}"#])
        XCTAssertEqual(result.rejections.map(\.index), [1, 2, 3, 4, 5, 7, 8])
        XCTAssertTrue(result.rejections[3].reason.contains("duplicate key 'd'"), result.rejections[3].reason)
    }

    func testUnframeableArrayThrowsFramingError() {
        for body in [#"[{"a":1},{"#, #"[{"a":1}"#, #"[{"a":1},]"#, #"[{"a":1} {"b":2}]"#, #"[{"a":1}] x"#,
                     #"[{"a":"unterminated}]"#, "[", #"{"a":1}"#, #"[{"a":1},,{"b":2}]"#, #"[,{"a":1}]"#,
                     #"[x{"a":1}]"#, #"[{"a":[1}, {"b":2}]"#, #"[1 2]"#] {
            XCTAssertThrowsError(try batch(body, .jsonArray), body) { error in
                XCTAssertTrue(error is RecordBatch.FramingError, "\(body): \(error)")
            }
        }
    }

    func testFramingErrorNamesTheElement() {
        XCTAssertThrowsError(try batch(#"[{"a":1},{"b":2},{"#, .jsonArray)) { error in
            XCTAssertTrue("\(error)".contains("element 2"), "\(error)")
        }
    }

    // MARK: Byte-order mark

    private let byteOrderMark = "\u{FEFF}"

    func testByteOrderMarkBeforeTheFirstNDJSONLineIsSkipped() throws {
        let result = try batch(byteOrderMark + "{\"a\":1}\n{\"b\":2}", .ndjson)
        XCTAssertEqual(bodies(result), [#"{"a":1}"#, #"{"b":2}"#])
        XCTAssertEqual(result.rejections, [])
    }

    func testByteOrderMarkBeforeAnArrayIsSkipped() throws {
        XCTAssertEqual(framing(nil, byteOrderMark + " [{\"a\":1}]"), .jsonArray)
        let result = try batch(byteOrderMark + #"[{"a":1},{"b":2}]"#, .jsonArray)
        XCTAssertEqual(bodies(result), [#"{"a":1}"#, #"{"b":2}"#])
    }

    func testByteOrderMarkIsSkippedOnlyAtTheStartOfTheBody() throws {
        let result = try batch("{\"a\":1}\n" + byteOrderMark + "{\"b\":2}", .ndjson)
        XCTAssertEqual(bodies(result), [#"{"a":1}"#])
        XCTAssertEqual(result.rejections.map(\.line), [2])
        XCTAssertThrowsError(try batch(byteOrderMark + byteOrderMark + "[]", .jsonArray))
    }

    func testBodyOfOnlyAByteOrderMarkIsEmpty() {
        XCTAssertThrowsError(try batch(byteOrderMark + " \n", .ndjson)) { error in
            XCTAssertTrue("\(error)".contains("empty body"), "\(error)")
        }
    }

    // MARK: Stored records

    /// Records stored before the client rules existed must still move between replicas.
    func testStoredRecordsAreCheckedForSyntaxOnly() {
        let line = #"{"server_time":"2026-11-29T10:02:02.837364Z","dup":1,"dup":2,"n":"# + String(repeating: "7", count: 5000) + "}"
        let result = RecordBatch(storedRecords: Array((line + "\n").utf8), partitionCount: 16)
        XCTAssertEqual(result.rejections, [])
        XCTAssertEqual(result.records.count, 1)
    }

    func testEmptyBodyThrows() {
        for body in ["", " \n\r\t "] {
            XCTAssertThrowsError(try batch(body, .ndjson)) { XCTAssertTrue($0 is RecordBatch.FramingError) }
            XCTAssertThrowsError(try batch(body, .jsonArray)) { XCTAssertTrue($0 is RecordBatch.FramingError) }
        }
    }

    // MARK: Framing choice

    private func framing(_ contentType: String?, _ body: String) -> RecordBatch.Framing {
        RecordBatch.framing(contentType: contentType, body: Array(body.utf8))
    }

    func testFramingFollowsNDJSONContentTypes() {
        for type in ["application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-seq",
                     "Application/X-NDJSON; charset=utf-8"] {
            XCTAssertEqual(framing(type, "[{\"a\":1}]"), .ndjson, type)
        }
    }

    func testFramingFollowsTheFirstByteOtherwise() {
        XCTAssertEqual(framing("application/json", "[{\"a\":1}]"), .jsonArray)
        XCTAssertEqual(framing("application/json", "{\"a\":1}"), .ndjson)
        XCTAssertEqual(framing(nil, " \r\n\t[ ]"), .jsonArray)
        XCTAssertEqual(framing(nil, "{\"a\":1}\n{\"a\":2}"), .ndjson)
        XCTAssertEqual(framing("text/plain", "["), .jsonArray)
        XCTAssertEqual(framing(nil, ""), .ndjson)
    }

    func testArrayBodyWithJSONContentTypeIsSplitAsArray() throws {
        let body = #"[{"a":1},{"a":2}]"#
        let result = try RecordBatch(body: Array(body.utf8), framing: framing("application/json", body),
                                     serverTime: serverTime, partitionCount: 16)
        XCTAssertEqual(result.records.count, 2)
    }
}
