import EspyCore
@testable import EspyStorage
import EspyTestKit
import XCTest

/// What repair and hinted handoff need of a real shard file: digests kept by every write, ids
/// and records read back per partition, partitions dropped with their rollups, durable hints.
final class ShardRepairTests: XCTestCase {
    private var harness: ShardHarness!
    private var generated: [GeneratedRecord] = []

    override func setUpWithError() throws {
        harness = try ShardHarness()
        try harness.open()
        generated = RecordFactory.generate(count: 600, start: Fixture.time(day: 0), spanDays: 5, seed: 7)
    }

    override func tearDown() {
        harness?.tearDown()
        harness = nil
    }

    private var records: [PreparedRecord] { generated.map(\.record) }

    private func expectedDigests(_ records: [PreparedRecord]) -> [Int: PartitionDigest] {
        var digests: [Int: PartitionDigest] = [:]
        for record in records { digests[record.partition, default: PartitionDigest()].add(record.id) }
        return digests
    }

    func testDigestsFollowWrites_ignoreDuplicates_andSurviveReopen() throws {
        _ = try harness.write(Array(records[0..<400]))
        _ = try harness.write(Array(records[200..<600]))
        let expected = expectedDigests(records)
        XCTAssertEqual(expected.count, 16, "600 records fill all 16 partitions")
        XCTAssertEqual(try harness.digests, expected)
        try harness.reopen()
        XCTAssertEqual(try harness.digests, expected, "digests are persisted, not recomputed in memory only")
    }

    func testDigestsOfTheSameSetAreEqualWhateverTheOrder() throws {
        _ = try harness.write(records.reversed())
        let other = try ShardHarness()
        defer { other.tearDown() }
        try other.open()
        for chunk in stride(from: 0, to: records.count, by: 37) { _ = try other.write(Array(records[chunk..<min(chunk + 37, records.count)])) }
        XCTAssertEqual(try harness.digests, try other.digests)
        _ = try other.write([Fixture.record(#"{"extra":1}"#, at: Fixture.time(day: 1))])
        XCTAssertNotEqual(try harness.digests, try other.digests)
    }

    func testIDsAndStoredRecordsOfAPartition_roundTripToTheSameRecords() throws {
        _ = try harness.write(records)
        let partition = records[0].partition
        let expected = Set(records.filter { $0.partition == partition }.map(\.id))
        let ids: [RecordID] = try harness.call { $0.ids(inPartition: partition, completion: $1) }
        XCTAssertEqual(Set(ids), expected)

        let someBuckets: Set<Int> = [0, 3, 15]
        let inBuckets: [RecordID] = try harness.call { $0.ids(inPartition: partition, buckets: someBuckets, completion: $1) }
        XCTAssertEqual(Set(inBuckets), expected.filter { someBuckets.contains(BucketDigests.bucket(of: $0)) })

        let unknown = RecordID(content: Array("not stored".utf8))
        let ndjson: [UInt8] = try harness.call { $0.storedRecords(ids: ids + [unknown], completion: $1) }
        let batch = RecordBatch(storedRecords: ndjson, partitionCount: 16)
        XCTAssertEqual(batch.rejections.count, 0)
        XCTAssertEqual(Set(batch.records.map(\.id)), expected, "ids not held are skipped; the rest come back with their server_time")
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        for record in batch.records {
            XCTAssertEqual(record.serverTime, byID[record.id]?.serverTime)
            XCTAssertEqual(record.body, byID[record.id]?.body)
        }
    }

    func testDroppingAPartition_removesItsRecordsDigestAndRollupShare() throws {
        _ = try harness.write(records)
        let dropped = records[0].partition
        let kept = records.filter { $0.partition != dropped }
        let removed: Int = try harness.call { $0.dropPartition(dropped, completion: $1) }
        XCTAssertEqual(removed, records.count - kept.count)
        XCTAssertEqual(try harness.recordCount, kept.count)
        XCTAssertEqual(try harness.digests, expectedDigests(kept))

        let keptGenerated = generated.filter { $0.record.partition != dropped }
        var bySystem: [String: Int] = [:]
        var missing = 0
        for record in keptGenerated {
            if let system = record.system { bySystem[system, default: 0] += 1 } else { missing += 1 }
        }
        XCTAssertEqual(try harness.count(groupBy: "uname$system"),
                       CountResult(recordCount: kept.count, counts: bySystem, missingCount: missing),
                       "the rollups no longer count the dropped records, and no zero rows remain")
        let ids: [RecordID] = try harness.call { $0.ids(inPartition: dropped, completion: $1) }
        XCTAssertEqual(ids, [])
        XCTAssertEqual(try harness.write(records).counts, WriteOutcome(inserted: records.count - kept.count, duplicates: kept.count),
                       "the dropped partition can be stored again")
        XCTAssertEqual(try harness.digests, expectedDigests(records))
    }

    func testHintsAreKeptPerTarget_listedOldestFirst_deletedAndExpired_acrossReopen() throws {
        let early = Timestamp(microseconds: Fixture.time(day: 0).microseconds)
        let late = Timestamp(microseconds: Fixture.time(day: 1).microseconds)
        let records = self.records
        try harness.call { $0.addHints(Array(records[0..<5]), for: "node-b", now: early, completion: $1) }
        try harness.call { $0.addHints(Array(records[5..<8]), for: "node-c", now: late, completion: $1) }
        XCTAssertEqual(try harness.hintCounts, ["node-b": 5, "node-c": 3])

        try harness.reopen()
        XCTAssertEqual(try harness.hintCounts, ["node-b": 5, "node-c": 3],
                       "hints are durable")
        let first: [Hint] = try harness.call { $0.hints(for: "node-b", limit: 2, completion: $1) }
        XCTAssertEqual(first.count, 2)
        let replayed = RecordBatch(storedRecords: Array(first.map { $0.record + [0x0A] }.joined()), partitionCount: 16)
        XCTAssertEqual(replayed.records.map(\.id), records[0..<2].map(\.id), "oldest first, in the stored-record form")
        XCTAssertEqual(first.map { $0.partition(of: 16) }, records[0..<2].map(\.partition),
                       "a hint names its partition, for dropping those a replica no longer holds")

        try harness.call { $0.deleteHints(first.map(\.seq), for: "node-b", completion: $1) }
        XCTAssertEqual(try harness.hintCounts, ["node-b": 3, "node-c": 3])
        try harness.call { $0.expireHints(createdBefore: late, completion: $1) }
        XCTAssertEqual(try harness.hintCounts, ["node-c": 3],
                       "hints older than the window are gone")
    }

    func testACountQueuedBehindRepairReads_isServedBeforeThem() throws {
        _ = try harness.write(records)
        let shard = try XCTUnwrap(harness.shard)
        // 40 repair reads, then a count, all asked at once of the 2 reader connections.
        let order: [String]? = harness.loopThread.await { done in
            var finished: [String] = []
            func note(_ name: String) {
                finished.append(name)
                if finished.count == 41 { done(finished) }
            }
            for index in 0..<40 { shard.ids(inPartition: index % 16) { _ in note("repair \(index)") } }
            shard.count(CountQuery()) { _ in note("count") }
        }
        let position = try XCTUnwrap(try XCTUnwrap(order).firstIndex(of: "count"))
        // Two repair reads were running already; a few more may finish while the count runs.
        XCTAssertLessThan(position, 10, "the count waited behind repair reads: \(order!.prefix(position + 1))")
    }
}
