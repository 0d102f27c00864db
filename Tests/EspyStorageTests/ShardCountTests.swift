import EspyCore
import EspyStorage
import EspyTestKit
import EspyTestRandom
import XCTest

final class ShardCountTests: XCTestCase {
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

    /// Five records: two Linux/3.x, one Darwin/2.x, one without python, one without uname.
    private func writeFiveProfiles() throws {
        let outcome = try harness.write([
            record(#"{"python":{"version_info":[3,11,2]},"uname":{"system":"Linux","release":"6.1"}}"#, Fixture.time(day: 0, hours: 1)),
            record(#"{"python":{"version_info":[3,12,0]},"uname":{"system":"Linux","release":"6.2"}}"#, Fixture.time(day: 0, hours: 2)),
            record(#"{"python":{"version_info":[2,7,18]},"uname":{"system":"Darwin","release":"23.1"}}"#, Fixture.time(day: 1)),
            record(#"{"uname":{"system":"Windows","release":"10"}}"#, Fixture.time(day: 2, hours: 5)),
            record(#"{"python":{"version_info":[3,9,1]}}"#, Fixture.time(day: 3, hours: 23)),
        ])
        XCTAssertEqual(outcome.counts, WriteOutcome(inserted: 5, duplicates: 0))
        XCTAssertEqual(outcome.newlyStored, [true, true, true, true, true])
    }

    // MARK: Insert then count

    func testEmptyShardCountsNothing() throws {
        XCTAssertEqual(try harness.count(groupBy: nil), CountResult())
        XCTAssertEqual(try harness.count(groupBy: "uname$system"), CountResult())
        XCTAssertEqual(try harness.count(groupBy: "uname$release"), CountResult())
        XCTAssertEqual(try harness.recordCount, 0)
    }

    func testCountWithoutGroupByCountsRecords() throws {
        try writeFiveProfiles()
        XCTAssertEqual(try harness.count(groupBy: nil), CountResult(recordCount: 5, counts: [:], missingCount: 0))
        XCTAssertEqual(try harness.recordCount, 5)
    }

    func testCountGroupedByDeclaredArrayIndexDimension() throws {
        try writeFiveProfiles()
        XCTAssertEqual(try harness.count(groupBy: "python$version_info$0"),
                       CountResult(recordCount: 5, counts: ["3": 3, "2": 1], missingCount: 1))
    }

    func testCountGroupedByDeclaredStringDimension() throws {
        try writeFiveProfiles()
        XCTAssertEqual(try harness.count(groupBy: "uname$system"),
                       CountResult(recordCount: 5, counts: ["Linux": 2, "Darwin": 1, "Windows": 1], missingCount: 1))
    }

    func testCountGroupedByUndeclaredPathScansBodies() throws {
        try writeFiveProfiles()
        XCTAssertEqual(try harness.count(groupBy: "uname$release"),
                       CountResult(recordCount: 5, counts: ["6.1": 1, "6.2": 1, "23.1": 1, "10": 1], missingCount: 1))
        XCTAssertEqual(try harness.count(groupBy: "python$version_info$1"),
                       CountResult(recordCount: 5, counts: ["11": 1, "12": 1, "7": 1, "9": 1], missingCount: 1))
    }

    func testUndeclaredContainerPathGroupsByCompactText() throws {
        try writeFiveProfiles()
        XCTAssertEqual(try harness.count(groupBy: "python$version_info"),
                       CountResult(recordCount: 5, counts: ["[3,11,2]": 1, "[3,12,0]": 1, "[2,7,18]": 1, "[3,9,1]": 1],
                                   missingCount: 1))
    }

    func testPathNoRecordHasCountsEveryRecordAsMissing() throws {
        try writeFiveProfiles()
        XCTAssertEqual(try harness.count(groupBy: "no$such$path"), CountResult(recordCount: 5, counts: [:], missingCount: 5))
    }

    func testDeclaredAndUndeclaredPathsAgreeOnEscapedStrings() throws {
        _ = try harness.write([
            record(#"{"uname":{"system":"Linux x","release":"Linux x"}}"#, Fixture.time(day: 0)),
            record(#"{"uname":{"system":"Linux\u0020x","release":"Linux\u0020x"}}"#, Fixture.time(day: 0, hours: 1)),
            record(#"{"uname":{"system":"tab\tnew\nline","release":"tab\tnew\nline"}}"#, Fixture.time(day: 0, hours: 2)),
            record(#"{"uname":{"system":3,"release":3}}"#, Fixture.time(day: 0, hours: 3)),
            record(#"{"uname":{"system":"3","release":"3"}}"#, Fixture.time(day: 0, hours: 4)),
        ])
        let expected = CountResult(recordCount: 5, counts: ["Linux x": 2, "tab\tnew\nline": 1, "3": 2], missingCount: 0)
        XCTAssertEqual(try harness.count(groupBy: "uname$system"), expected)
        XCTAssertEqual(try harness.count(groupBy: "uname$release"), expected)
    }

    func testDottedGroupByReachesTheSameDimension() throws {
        try writeFiveProfiles()
        XCTAssertEqual(try harness.count(groupBy: "python.version_info.0"), try harness.count(groupBy: "python$version_info$0"))
    }

    // MARK: limit

    /// Ten records, one an hour; record i has python major `i % 2 == 0 ? 3 : 2` and release "r<i>".
    private func writeTenHourly() throws -> [PreparedRecord] {
        var records = (0..<10).map { i in
            record(#"{"i":\#(i),"python":{"version_info":[\#(i % 2 == 0 ? 3 : 2),0]},"uname":{"release":"r\#(i)"}}"#,
                   Fixture.time(day: 0, hours: Int64(i)))
        }
        records.shuffle()
        _ = try harness.write(records)
        return records
    }

    func testLimitCountsOnlyTheNewestRecordsForADeclaredPath() throws {
        _ = try writeTenHourly()
        // Newest three are i = 9, 8, 7.
        XCTAssertEqual(try harness.count(groupBy: "python$version_info$0", limit: 3),
                       CountResult(recordCount: 3, counts: ["2": 2, "3": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: "python$version_info$0", limit: 1),
                       CountResult(recordCount: 1, counts: ["2": 1], missingCount: 0))
    }

    func testLimitCountsOnlyTheNewestRecordsForAnUndeclaredPath() throws {
        _ = try writeTenHourly()
        XCTAssertEqual(try harness.count(groupBy: "uname$release", limit: 4),
                       CountResult(recordCount: 4, counts: ["r9": 1, "r8": 1, "r7": 1, "r6": 1], missingCount: 0))
    }

    func testLimitWithoutGroupByCountsAtMostLimitRecords() throws {
        _ = try writeTenHourly()
        XCTAssertEqual(try harness.count(groupBy: nil, limit: 7), CountResult(recordCount: 7))
        XCTAssertEqual(try harness.count(groupBy: nil, limit: 0), CountResult(recordCount: 0))
    }

    func testLimitLargerThanTheStoreCountsEverything() throws {
        _ = try writeTenHourly()
        XCTAssertEqual(try harness.count(groupBy: "python$version_info$0", limit: 1000),
                       CountResult(recordCount: 10, counts: ["3": 5, "2": 5], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: "uname$release", limit: 11).recordCount, 10)
        XCTAssertEqual(try harness.count(groupBy: nil, limit: Int.max).recordCount, 10)
    }

    func testLimitAppliesWithinTheTimeRange() throws {
        _ = try writeTenHourly()
        // In [02:00, 06:00) are i = 2...5; the newest two are 5 and 4.
        let since = Fixture.time(day: 0, hours: 2)
        let until = Fixture.time(day: 0, hours: 6)
        XCTAssertEqual(try harness.count(groupBy: "uname$release", limit: 2, since: since, until: until),
                       CountResult(recordCount: 2, counts: ["r5": 1, "r4": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: "python$version_info$0", limit: 2, since: since, until: until),
                       CountResult(recordCount: 2, counts: ["2": 1, "3": 1], missingCount: 0))
    }

    func testLimitMissingCountComesFromTheNewestRecordsOnly() throws {
        _ = try harness.write([
            record(#"{"uname":{"system":"Linux"}}"#, Fixture.time(day: 0, hours: 1)),
            record(#"{"other":1}"#, Fixture.time(day: 0, hours: 2)),
            record(#"{"other":2}"#, Fixture.time(day: 0, hours: 3)),
        ])
        XCTAssertEqual(try harness.count(groupBy: "uname$system", limit: 2), CountResult(recordCount: 2, counts: [:], missingCount: 2))
        XCTAssertEqual(try harness.count(groupBy: "uname$system", limit: 3),
                       CountResult(recordCount: 3, counts: ["Linux": 1], missingCount: 2))
    }

    // MARK: since / until

    func testRangeInsideOneDay() throws {
        try writeFiveProfiles()
        // Only the 01:00 record of day 0 is in [00:30, 01:30).
        let since = Timestamp(microseconds: Fixture.time(day: 0).microseconds + Fixture.hour / 2)
        let until = Timestamp(microseconds: Fixture.time(day: 0, hours: 1).microseconds + Fixture.hour / 2)
        XCTAssertEqual(try harness.count(groupBy: "uname$system", since: since, until: until),
                       CountResult(recordCount: 1, counts: ["Linux": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: nil, since: since, until: until).recordCount, 1)
    }

    func testSinceIsInclusiveAndUntilExclusive() throws {
        try writeFiveProfiles()
        let exactly = Fixture.time(day: 1)  // the Darwin record's time
        XCTAssertEqual(try harness.count(groupBy: "uname$system", since: exactly, until: Timestamp(microseconds: exactly.microseconds + 1)),
                       CountResult(recordCount: 1, counts: ["Darwin": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: "uname$system", until: exactly),
                       CountResult(recordCount: 2, counts: ["Linux": 2], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: nil, since: exactly, until: exactly).recordCount, 0)
    }

    func testWholeDaysWithPartialEdges() throws {
        try writeFiveProfiles()
        // [day 0 01:30, day 3 12:00): the 02:00, day-1, and day-2 records.
        let since = Timestamp(microseconds: Fixture.time(day: 0, hours: 1).microseconds + Fixture.hour / 2)
        let until = Fixture.time(day: 3, hours: 12)
        XCTAssertEqual(try harness.count(groupBy: "python$version_info$0", since: since, until: until),
                       CountResult(recordCount: 3, counts: ["3": 1, "2": 1], missingCount: 1))
        XCTAssertEqual(try harness.count(groupBy: "uname$release", since: since, until: until),
                       CountResult(recordCount: 3, counts: ["6.2": 1, "23.1": 1, "10": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: nil, since: since, until: until).recordCount, 3)
    }

    func testOpenEndedRanges() throws {
        try writeFiveProfiles()
        XCTAssertEqual(try harness.count(groupBy: nil, since: Fixture.time(day: 2)).recordCount, 2)
        XCTAssertEqual(try harness.count(groupBy: nil, until: Fixture.time(day: 2)).recordCount, 3)
        XCTAssertEqual(try harness.count(groupBy: "uname$system", since: Fixture.time(day: 0, hours: 2, micros: 1)),
                       CountResult(recordCount: 3, counts: ["Darwin": 1, "Windows": 1], missingCount: 1))
    }

    /// Ground truth by brute force over 2,000 generated records on 10 days, for 200 random ranges
    /// mixing midnights (whole days from the rollups) and arbitrary instants (edges by scan).
    func testRandomRangesMatchBruteForce() throws {
        let generated = RecordFactory.generate(count: 2000, start: Fixture.baseTime, spanDays: 10, seed: 7)
        for start in stride(from: 0, to: generated.count, by: 250) {
            let outcome = try harness.write(generated[start..<min(start + 250, generated.count)].map(\.record))
            XCTAssertEqual(outcome.inserted, min(250, generated.count - start))
        }
        XCTAssertEqual(try harness.recordCount, 2000)
        var random = SplitMix64(seed: 2026)
        func randomBound() -> Timestamp? {
            switch Int.random(in: 0..<10, using: &random) {
            case 0: return nil
            case 1...3: return Fixture.time(day: Int64.random(in: -1...11, using: &random))
            case 4: return Fixture.time(day: Int64.random(in: 0...10, using: &random), micros: [-1, 1][Int.random(in: 0...1, using: &random)])
            default: return Timestamp(microseconds: Fixture.baseTime.microseconds
                                      + Int64.random(in: (-Fixture.day)...(11 * Fixture.day), using: &random))
            }
        }
        var checked = 0
        for _ in 0..<200 {
            var since = randomBound()
            var until = randomBound()
            if let s = since, let u = until, u < s { (since, until) = (until, since) }
            for path in [nil, "python$version_info$0", "uname$system"] as [String?] {
                let actual = try harness.count(groupBy: path, since: since, until: until)
                let expected = RecordFactory.expected(generated, groupBy: path, since: since, until: until)
                XCTAssertEqual(actual, expected, "group_by=\(path ?? "-") since=\(since?.description ?? "-") until=\(until?.description ?? "-")")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 600)
    }

    func testRandomRangesOnAnUndeclaredPathAndWithLimitsMatchBruteForce() throws {
        let generated = RecordFactory.generate(count: 600, start: Fixture.baseTime, spanDays: 5, seed: 11)
        _ = try harness.write(generated.map(\.record))
        var random = SplitMix64(seed: 99)
        for _ in 0..<60 {
            let a = Fixture.baseTime.microseconds + Int64.random(in: (-Fixture.day)...(6 * Fixture.day), using: &random)
            let b = Fixture.baseTime.microseconds + Int64.random(in: (-Fixture.day)...(6 * Fixture.day), using: &random)
            let since = Timestamp(microseconds: min(a, b))
            let until = Timestamp(microseconds: max(a, b))
            let limit: Int? = Bool.random(using: &random) ? Int.random(in: 0...700, using: &random) : nil
            for path in [nil, "python$version_info$0", "uname$system", "uname$release"] as [String?] {
                XCTAssertEqual(try harness.count(groupBy: path, limit: limit, since: since, until: until),
                               RecordFactory.expected(generated, groupBy: path, limit: limit, since: since, until: until),
                               "group_by=\(path ?? "-") limit=\(limit.map(String.init) ?? "-") since=\(since) until=\(until)")
            }
        }
    }

    func testRecordsBeforeTheEpochAreCountedInTheRightDays() throws {
        let day = Fixture.day
        _ = try harness.write([
            record(#"{"uname":{"system":"old"},"n":1}"#, Timestamp(microseconds: -2 * day + 5)),
            record(#"{"uname":{"system":"old"},"n":2}"#, Timestamp(microseconds: -1)),
            record(#"{"uname":{"system":"new"},"n":3}"#, Timestamp(microseconds: 0)),
        ])
        XCTAssertEqual(try harness.count(groupBy: "uname$system", since: Timestamp(microseconds: -day), until: Timestamp(microseconds: day)),
                       CountResult(recordCount: 2, counts: ["old": 1, "new": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: nil, since: Timestamp(microseconds: -3 * day), until: Timestamp(microseconds: -day)).recordCount, 1)
        XCTAssertEqual(try harness.count(groupBy: nil, since: Timestamp(microseconds: -2 * day + 6)).recordCount, 2)
    }
}

extension ShardCountTests {
    func testWhichCountsAreReadFromRollups() throws {
        let shard = try XCTUnwrap(harness.shard)
        let parsed = { (text: String) in
            try CountQuery(parameters: text.split(separator: "&").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            })
        }
        XCTAssertTrue(shard.readsFromRollups(try parsed("")))
        XCTAssertTrue(shard.readsFromRollups(try parsed("group_by=python$version_info$0&since=2026-11-01")))
        XCTAssertFalse(shard.readsFromRollups(try parsed("group_by=uname$release")), "not a declared dimension")
        XCTAssertFalse(shard.readsFromRollups(try parsed("group_by=uname$system&limit=10")))
        XCTAssertTrue(shard.readsFromRollups(try parsed("group_by=uname$system&where=python$version_info$0:3&bucket=week")),
                      "declared paths only: the combination rollup")
        XCTAssertFalse(shard.readsFromRollups(try parsed("group_by=uname$system&where=uname$release:6.1")), "filter on an undeclared path")
        XCTAssertFalse(shard.readsFromRollups(try parsed("group_by=uname$system&distinct=username")), "distinct over an undeclared path")
        XCTAssertTrue(shard.readsFromRollups(try parsed("group_by=uname$system&distinct=hostname")), "a declared distinct path")
        XCTAssertFalse(shard.readsFromRollups(try parsed("group_by=hostname")), "a distinct path is no dimension to group by")
    }
}
