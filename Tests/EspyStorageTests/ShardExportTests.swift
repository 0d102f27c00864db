import EspyCore
import EspyStorage
import EspyTestKit
import Foundation
import EspyTestRandom
import XCTest

final class ShardExportTests: XCTestCase {
    private var harness: ShardHarness!

    override func setUpWithError() throws {
        harness = try ShardHarness()
        try harness.open()
    }

    override func tearDown() {
        harness?.tearDown()
        harness = nil
    }

    /// 300 records over three days; every third record shares its time with the one before,
    /// as records of one uploaded batch do, so (server_time, id) order needs the id.
    private func writeRecords() throws -> [PreparedRecord] {
        var random = SplitMix64(seed: 3)
        var records: [PreparedRecord] = []
        var time = Fixture.baseTime.microseconds
        for i in 0..<300 {
            if i % 3 != 0 { time += Int64.random(in: 1...(Fixture.day / 50), using: &random) }
            let padding = String(repeating: "x", count: Int.random(in: 0...80, using: &random))
            records.append(Fixture.record(#"{"i":\#(i),"pad":"\#(padding)","nested":{"server_time":"kept"},"s":"\u00e9\n"}"#,
                                          at: Timestamp(microseconds: time)))
        }
        records.shuffle(using: &random)
        for start in stride(from: 0, to: records.count, by: 64) {
            _ = try harness.write(Array(records[start..<min(start + 64, records.count)]))
        }
        return records
    }

    private func expectedLines(_ records: [PreparedRecord], since: Timestamp? = nil, until: Timestamp? = nil) -> [String] {
        let range = CountQuery(since: since, until: until)
        return records.filter { range.contains($0.serverTime) }
            .sorted { a, b in
                a.serverTime != b.serverTime ? a.serverTime < b.serverTime : a.id.bytes.lexicographicallyPrecedes(b.id.bytes)
            }
            .map { record in
                var line: [UInt8] = []
                record.appendExported(to: &line)
                return String(decoding: line, as: UTF8.self)
            }
    }

    func testSmallPagesWalkEveryRecordExactlyOnceInTimeAndIdOrder() throws {
        let records = try writeRecords()
        let (lines, pages) = try harness.exportAll(maxBytes: 512)
        XCTAssertEqual(lines.count, 300)
        XCTAssertEqual(Set(lines).count, 300, "no record is exported twice")
        XCTAssertEqual(lines, expectedLines(records))
        XCTAssertGreaterThan(pages, 40, "512-byte pages over ~45 KB of records")
    }

    private func precedes(_ a: ExportCursor, _ b: ExportCursor) -> Bool {
        a.serverTime != b.serverTime ? a.serverTime < b.serverTime : a.id.lexicographicallyPrecedes(b.id)
    }

    func testPagesStopNearMaxBytesAndCursorsAdvance() throws {
        _ = try writeRecords()
        var cursor: ExportCursor?
        var previous: ExportCursor?
        var total = 0
        repeat {
            let page = try harness.exportPage(after: cursor, since: nil, until: nil, maxBytes: 512)
            let lines = String(decoding: page.ndjson, as: UTF8.self).split(separator: "\n")
            total += lines.count
            // A page stops at the first line that reaches maxBytes, so it overshoots by less than one line.
            let longest = lines.map { $0.utf8.count + 1 }.max() ?? 0
            XCTAssertLessThan(page.ndjson.count, 512 + longest)
            if let next = page.next {
                XCTAssertGreaterThanOrEqual(page.ndjson.count, 512)
                if let previous { XCTAssertTrue(precedes(previous, next), "cursor \(next) does not follow \(previous)") }
                previous = next
            }
            cursor = page.next
        } while cursor != nil
        XCTAssertEqual(total, 300)
    }

    func testExportedLinesAreJSONWithServerTimeFirst() throws {
        let records = try writeRecords()
        let lines = try harness.exportAll(maxBytes: 512).lines
        for (line, record) in zip(lines, expectedLines(records)) {
            XCTAssertTrue(line.hasPrefix(#"{"server_time":""#), line)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
            let serverTime = try XCTUnwrap(object["server_time"] as? String)
            XCTAssertNoThrow(try Timestamp(parsing: serverTime))
            XCTAssertEqual(serverTime.count, "2026-01-01T00:00:00.000000Z".count)
            XCTAssertEqual((object["nested"] as? [String: Any])?["server_time"] as? String, "kept")
            XCTAssertEqual(object["s"] as? String, "é\n")
            XCTAssertEqual(line, record)
        }
    }

    func testExportRespectsSinceAndUntil() throws {
        let records = try writeRecords()
        let since = Fixture.time(day: 1, hours: 3)
        let until = Fixture.time(day: 2, hours: 1)
        let expected = expectedLines(records, since: since, until: until)
        XCTAssertGreaterThan(expected.count, 50)
        XCTAssertLessThan(expected.count, 250)
        XCTAssertEqual(try harness.exportAll(since: since, until: until, maxBytes: 512).lines, expected)
        XCTAssertEqual(try harness.exportAll(since: since, maxBytes: 700).lines, expectedLines(records, since: since))
        XCTAssertEqual(try harness.exportAll(until: until, maxBytes: 300).lines, expectedLines(records, until: until))
    }

    func testSinceOnAnExactRecordTimeIncludesItAndUntilExcludesIt() throws {
        let records = try writeRecords()
        let middle = expectedLines(records)[150]
        let time = records.first { expectedLines([$0]) == [middle] }!.serverTime
        let from = try harness.exportAll(since: time, maxBytes: 512).lines
        XCTAssertTrue(from.contains(middle))
        let before = try harness.exportAll(until: time, maxBytes: 512).lines
        XCTAssertFalse(before.contains(middle))
        XCTAssertEqual(from.count + before.count, 300)
    }

    func testEmptyRangeGivesOneEmptyFinalPage() throws {
        _ = try writeRecords()
        let page = try harness.exportPage(after: nil, since: Fixture.time(day: 20), until: nil, maxBytes: 512)
        XCTAssertEqual(page.ndjson, [])
        XCTAssertNil(page.next)
    }

    func testEmptyObjectExportsAsServerTimeOnly() throws {
        let time = Fixture.time(day: 0, hours: 1)
        _ = try harness.write([Fixture.record("{ }", at: time)])
        XCTAssertEqual(try harness.exportAll(maxBytes: 512).lines, [#"{"server_time":"2026-01-01T01:00:00.000000Z"}"#])
    }

    func testLargePageHoldsEverythingAndEndsTheExport() throws {
        let records = try writeRecords()
        let page = try harness.exportPage(after: nil, since: nil, until: nil, maxBytes: 1 << 20)
        XCTAssertNil(page.next)
        XCTAssertEqual(String(decoding: page.ndjson, as: UTF8.self), expectedLines(records).map { $0 + "\n" }.joined())
    }

    func testMoreThanAThousandRecordsNeedASecondPage() throws {
        let records = (0..<1500).map { Fixture.record(#"{"n":\#($0)}"#, at: Fixture.time(day: 0, micros: Int64($0 / 10))) }
        _ = try harness.write(records)
        let first = try harness.exportPage(after: nil, since: nil, until: nil, maxBytes: 1 << 20)
        XCTAssertNotNil(first.next, "a page holds at most 1,000 rows")
        let all = try harness.exportAll(maxBytes: 1 << 20)
        XCTAssertEqual(all.lines, expectedLines(records))
        XCTAssertEqual(all.pages, 2)
    }
}
