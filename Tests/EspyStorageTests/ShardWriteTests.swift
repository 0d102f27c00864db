import EspyCore
import EspyStorage
import EspyTestKit
import XCTest

final class ShardWriteTests: XCTestCase {
    private var harness: ShardHarness!

    override func setUpWithError() throws {
        harness = try ShardHarness()
        try harness.open()
    }

    override func tearDown() {
        harness?.tearDown()
        harness = nil
    }

    private func record(_ json: String, _ time: Timestamp) -> PreparedRecord { Fixture.record(json, at: time) }

    private func batch(_ n: Int, tag: String, day: Int64 = 0) -> [PreparedRecord] {
        (0..<n).map { i in
            record(#"{"tag":"\#(tag)","i":\#(i),"uname":{"system":"\#(i % 3 == 0 ? "Linux" : "Darwin")"}}"#,
                   Fixture.time(day: day, micros: Int64(i)))
        }
    }

    // MARK: Idempotent retry

    func testWritingTheSameBatchTwiceStoresEachRecordOnce() throws {
        let records = batch(30, tag: "retry")
        XCTAssertEqual(try harness.write(records).counts, WriteOutcome(inserted: 30, duplicates: 0))
        let before = try harness.count(groupBy: "uname$system")
        XCTAssertEqual(before, CountResult(recordCount: 30, counts: ["Linux": 10, "Darwin": 20], missingCount: 0))

        XCTAssertEqual(try harness.write(records).counts, WriteOutcome(inserted: 0, duplicates: 30))
        XCTAssertEqual(try harness.recordCount, 30)
        XCTAssertEqual(try harness.count(groupBy: "uname$system"), before)
        XCTAssertEqual(try harness.count(groupBy: nil).recordCount, 30)
        XCTAssertEqual(try harness.exportAll(maxBytes: 1 << 20).lines.count, 30)
    }

    func testRetryOverlappingAnEarlierBatchStoresOnlyTheNewRecords() throws {
        let records = batch(20, tag: "overlap")
        XCTAssertEqual(try harness.write(Array(records[0..<12])).counts, WriteOutcome(inserted: 12, duplicates: 0))
        XCTAssertEqual(try harness.write(Array(records[8..<20])).counts, WriteOutcome(inserted: 8, duplicates: 4))
        XCTAssertEqual(try harness.recordCount, 20)
        XCTAssertEqual(try harness.count(groupBy: "uname$release").missingCount, 20)
    }

    func testDuplicateInsideOneBatchIsStoredOnce() throws {
        let one = record(#"{"a":1}"#, Fixture.time(day: 0))
        XCTAssertEqual(try harness.write([one, one, one]).counts, WriteOutcome(inserted: 1, duplicates: 2))
        XCTAssertEqual(try harness.recordCount, 1)
    }

    func testResentRecordWithOtherWhitespaceAndServerTimeIsADuplicateAndKeepsTheFirstTime() throws {
        let first = Fixture.time(day: 0, hours: 3)
        XCTAssertEqual(try harness.write([record(#"{"a":1,"b":[1,2]}"#, first)]).counts, WriteOutcome(inserted: 1))
        let retry = record("{ \"a\" : 1,\n \"b\" : [ 1, 2 ], \"server_time\": \"1999-01-01\" }", Fixture.time(day: 5))
        XCTAssertEqual(try harness.write([retry]).counts, WriteOutcome(inserted: 0, duplicates: 1))
        XCTAssertEqual(try harness.exportAll(maxBytes: 4096).lines, [#"{"server_time":"\#(first)","a":1,"b":[1,2]}"#])
        XCTAssertEqual(try harness.count(groupBy: nil, since: Fixture.time(day: 1)).recordCount, 0)
    }

    func testEmptyWriteSucceedsAndStoresNothing() throws {
        XCTAssertEqual(try harness.write([]).counts, WriteOutcome(inserted: 0, duplicates: 0))
        XCTAssertEqual(try harness.recordCount, 0)
    }

    // MARK: Group commit

    func testManyConcurrentWritesAllSucceedAndAreAllCounted() throws {
        let requests = (0..<60).map { batch(5, tag: "req\($0)", day: Int64($0 % 4)) }
        let shard = try XCTUnwrap(harness.shard)
        // All queued in one loop turn: the first starts a transaction, the rest wait and share the next ones.
        let outcomes: [Result<WriteOutcome, StorageError>]? = harness.loopThread.await { done in
            var results: [Result<WriteOutcome, StorageError>?] = Array(repeating: nil, count: requests.count)
            var remaining = requests.count
            for (index, records) in requests.enumerated() {
                shard.write(records) { result in
                    XCTAssertNil(results[index], "completion called twice")
                    results[index] = result
                    remaining -= 1
                    if remaining == 0 { done(results.map { $0! }) }
                }
            }
        }
        let results = try XCTUnwrap(outcomes, "writes did not complete")
        XCTAssertEqual(results.count, 60)
        for result in results {
            XCTAssertEqual(try result.get().counts, WriteOutcome(inserted: 5, duplicates: 0))
        }
        XCTAssertEqual(try harness.recordCount, 300)
        XCTAssertEqual(try harness.count(groupBy: "uname$system"),
                       CountResult(recordCount: 300, counts: ["Linux": 120, "Darwin": 180], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: nil, since: Fixture.time(day: 1), until: Fixture.time(day: 2)).recordCount, 75)
    }

    func testTheSameRecordInTwoConcurrentWritesIsStoredOnce() throws {
        let shared = record(#"{"shared":true}"#, Fixture.time(day: 0))
        let requests = [[shared], [shared, record(#"{"other":1}"#, Fixture.time(day: 0))], [shared]]
        let shard = try XCTUnwrap(harness.shard)
        let outcomes: [WriteOutcome]? = harness.loopThread.await { done in
            var results: [WriteOutcome] = []
            for records in requests {
                shard.write(records) { result in
                    results.append((try? result.get())?.counts ?? WriteOutcome(inserted: -1, duplicates: -1))
                    if results.count == requests.count { done(results) }
                }
            }
        }
        let results = try XCTUnwrap(outcomes)
        XCTAssertEqual(results.map(\.inserted).reduce(0, +), 2)
        XCTAssertEqual(results.map(\.duplicates).reduce(0, +), 2)
        XCTAssertEqual(try harness.recordCount, 2)
    }

    func testWriteAfterCloseFails() throws {
        let shard = try XCTUnwrap(harness.shard)
        _ = harness.loopThread.await { done in shard.close { done(()) } }
        let result: Result<WriteOutcome, StorageError>? = harness.loopThread.await { done in
            shard.write([Fixture.record(#"{"a":1}"#, at: Fixture.baseTime)]) { done($0) }
        }
        XCTAssertThrowsError(try XCTUnwrap(result).get()) { error in
            XCTAssertTrue("\(error)".contains("closed"), "\(error)")
        }
    }

    func testCloseWaitsForQueuedWrites() throws {
        let shard = try XCTUnwrap(harness.shard)
        let outcomes: [Int]? = harness.loopThread.await { done in
            var inserted: [Int] = []
            for n in 0..<10 {
                shard.write(self.batch(10, tag: "close\(n)")) { inserted.append((try? $0.get().inserted) ?? -1) }
            }
            shard.close { done(inserted) }
        }
        XCTAssertEqual(outcomes, Array(repeating: 10, count: 10))
        try harness.open()
        XCTAssertEqual(try harness.recordCount, 100)
    }

    // MARK: Reopening

    func testReopeningTheFileKeepsEverything() throws {
        let generated = RecordFactory.generate(count: 400, start: Fixture.baseTime, spanDays: 4, seed: 5)
        _ = try harness.write(generated.map(\.record))
        let since = Fixture.time(day: 1, hours: 7)
        let before = try [nil, "python$version_info$0", "uname$system", "uname$release"].map {
            try harness.count(groupBy: $0, since: since)
        }
        let exported = try harness.exportAll(maxBytes: 1 << 20).lines

        try harness.reopen()

        XCTAssertEqual(try harness.recordCount, 400)
        let after = try [nil, "python$version_info$0", "uname$system", "uname$release"].map {
            try harness.count(groupBy: $0, since: since)
        }
        XCTAssertEqual(after, before)
        XCTAssertEqual(after[1], RecordFactory.expected(generated, groupBy: "python$version_info$0", since: since))
        XCTAssertEqual(try harness.exportAll(maxBytes: 1 << 20).lines, exported)
        XCTAssertEqual(try harness.write(generated.prefix(10).map(\.record)).counts, WriteOutcome(inserted: 0, duplicates: 10))
    }

    func testReopeningWithFullDurabilityKeepsAcknowledgedWrites() throws {
        harness.close()
        harness.settings.durability = .full
        try harness.open()
        _ = try harness.write(batch(25, tag: "durable"))
        try harness.reopen()
        XCTAssertEqual(try harness.recordCount, 25)
        XCTAssertEqual(try harness.count(groupBy: "uname$system").counts, ["Linux": 9, "Darwin": 16])
    }
}

extension WriteOutcome {
    /// The totals alone, for comparing with expected counts.
    var counts: WriteOutcome { WriteOutcome(inserted: inserted, duplicates: duplicates) }
}
