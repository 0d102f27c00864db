import EspyCore
@testable import EspyStorage
import EspyTestKit
import EspyTestRandom
import XCTest

/// Composite counts on declared dimensions are answered from value ids (the combination rollup,
/// the distinct rollup of the declared distinct path `hostname`, and the records' `dims`); the
/// same records in a shard that declares nothing are answered by reading every body. The two
/// must agree on every question.
final class ShardCombinationTests: XCTestCase {
    private static let declared = ["python$version_info$0", "python$version_info$1", "uname$system", "uname$release"]
    private var rollups: ShardHarness!
    private var bodies: ShardHarness!
    private var generated: [GeneratedRecord] = []

    override func setUpWithError() throws {
        rollups = try ShardHarness(dimensions: Self.declared)
        // Small, so that the writes below fold their distinct values into the rollup twice and
        // leave some appended but not folded: answers must read both.
        rollups.settings.distinctFoldRows = 250
        bodies = try ShardHarness(dimensions: [], distinctPaths: [])
        try rollups.open()
        try bodies.open()
        generated = RecordFactory.generate(count: 800, start: Fixture.baseTime, spanDays: 9, seed: 41)
        for chunk in stride(from: 0, to: generated.count, by: 100) {
            let records = generated[chunk..<min(chunk + 100, generated.count)].map(\.record)
            _ = try rollups.write(records)
            _ = try bodies.write(records)
        }
    }

    override func tearDown() {
        rollups?.tearDown()
        bodies?.tearDown()
        rollups = nil
        bodies = nil
    }

    private func query(_ parameters: QueryParameters.List) throws -> CountQuery { try CountQuery(parameters: parameters) }

    /// A random question on the declared paths: up to three groups, up to two filters (with
    /// `(missing)` and values no record has), a bucket, distinct, a time range and a limit.
    private func randomParameters(_ random: inout SplitMix64) -> QueryParameters.List {
        var parameters: QueryParameters.List = []
        for path in Self.declared.shuffled(using: &random).prefix(Int.random(in: 0...3, using: &random)) {
            parameters.append(("group_by", path))
        }
        let values = ["python$version_info$0": ["2", "3", "4"], "python$version_info$1": ["7", "11", "99"],
                      "uname$system": ["Linux", "Darwin", "Plan 9"], "uname$release": ["6.0", "6.3", "5.9"]]
        for _ in 0..<Int.random(in: 0...2, using: &random) {
            let path = Self.declared.randomElement(using: &random)!
            let value = Bool.random(using: &random) ? CountFilter.missingText : values[path]!.randomElement(using: &random)!
            parameters.append((Bool.random(using: &random) ? "where" : "where_not", path + ":" + value))
        }
        if Int.random(in: 0..<3, using: &random) == 0 {
            parameters.append(("bucket", TimeBucket.allCases.randomElement(using: &random)!.rawValue))
        }
        let hasDistinct = Int.random(in: 0..<3, using: &random) == 0
        if hasDistinct { parameters.append(("distinct", (Self.declared + ["hostname"]).randomElement(using: &random)!)) }
        if Bool.random(using: &random) {
            parameters.append(("since", Fixture.time(day: 0, hours: Int64.random(in: 0..<(5 * 24), using: &random)).description))
        }
        if Bool.random(using: &random) {
            parameters.append(("until", Fixture.time(day: 5, hours: Int64.random(in: 0..<(5 * 24), using: &random)).description))
        }
        if !hasDistinct, Int.random(in: 0..<4, using: &random) == 0 {
            parameters.append(("limit", String(Int.random(in: 0...300, using: &random))))
        }
        return parameters
    }

    func testRandomDeclaredQuestionsMatchReadingEveryBody() throws {
        var random = SplitMix64(seed: 7)
        var composite = 0
        for _ in 0..<150 {
            let parameters = randomParameters(&random)
            let question = try query(parameters)
            composite += question.isComposite ? 1 : 0
            XCTAssertEqual(try rollups.count(question), try bodies.count(question), "\(parameters)")
            let some = (0..<16).filter { _ in Bool.random(using: &random) }
            let restricted = { (harness: ShardHarness) in
                try harness.call { $0.count(question, partitions: some, completion: $1) } as CountResult
            }
            XCTAssertEqual(try restricted(rollups), try restricted(bodies), "\(parameters) on partitions \(some)")
        }
        XCTAssertGreaterThan(composite, 100, "the random questions exercise the combination path")
    }

    func testKnownAnswerFromTheCombinationRollup() throws {
        let question = try query([("group_by", "python$version_info$0"), ("where", "uname$system:Linux"), ("bucket", "week")])
        XCTAssertTrue(try XCTUnwrap(rollups.shard).readsFromRollups(question))
        var expected = CountResult()
        for record in generated where record.system == "Linux" {
            expected.recordCount += 1
            let week = TimeBucket.week.label(of: record.serverTime)
            expected.counts[CompositeKey.encode([week, record.major]), default: 0] += 1
        }
        XCTAssertEqual(try rollups.count(question), expected)
    }

    func testDistinctHostsOfADeclaredDistinctPathComeFromTheRollup() throws {
        let question = try query([("group_by", "python$version_info$0"), ("where", "uname$system:Linux"), ("distinct", "hostname"),
                                  ("bucket", "week")])
        XCTAssertTrue(try XCTUnwrap(rollups.shard).readsFromRollups(question))
        XCTAssertFalse(try XCTUnwrap(bodies.shard).readsFromRollups(question), "without the declaration it reads bodies")
        var hosts: [String: Set<String>] = [:]
        var expected = CountResult()
        for record in generated where record.system == "Linux" {
            expected.recordCount += 1
            let key = CompositeKey.encode([TimeBucket.week.label(of: record.serverTime), record.major])
            expected.counts[key, default: 0] += 1
            if let hostname = record.hostname { hosts[key, default: []].insert(hostname) }
        }
        for (key, names) in hosts {
            var sketch = DistinctSketch()
            for name in names { sketch.insert(name) }
            expected.distinct[key] = sketch
        }
        let answer = try rollups.count(question)
        XCTAssertEqual(answer, expected)
        XCTAssertEqual(answer, try bodies.count(question))
        XCTAssertGreaterThan(expected.distinct.values.map(\.count).max() ?? 0, 10, "weeks with many hosts")
    }

    /// The rollup must follow the records: one row per day and combination, summing to the
    /// records, after writes, a dropped partition and a change of the declared dimensions.
    func testCombinationRollupFollowsDropsAndDimensionChanges() throws {
        try assertRollupMatchesRecords()
        XCTAssertGreaterThan(try pendingDistinctRows(), 0, "distinct values appended since the last fold")
        let dropped = generated[0].record.partition
        let removed: Int = try rollups.call { $0.dropPartition(dropped, completion: $1) }
        let _: Int = try bodies.call { $0.dropPartition(dropped, completion: $1) }
        XCTAssertGreaterThan(removed, 0)
        try assertRollupMatchesRecords()
        XCTAssertEqual(try pendingDistinctRows(), 0, "a drop folds first: removals are counted off the rollup's rows")
        let question = try query([("group_by", "uname$system"), ("where_not", "python$version_info$0:3"), ("bucket", "day")])
        XCTAssertEqual(try rollups.count(question), try bodies.count(question))

        rollups.close()
        rollups.settings.dimensions = try ["uname$system", "python$version_info$0"].map { try FieldPath(parsing: $0) }
        try rollups.open()
        try assertRollupMatchesRecords()
        XCTAssertEqual(try rollups.count(question), try bodies.count(question))
    }

    private func pendingDistinctRows() throws -> Int64 {
        let connection = try SQLiteConnection(path: rollups.path, readOnly: true)
        defer { connection.close() }
        return try connection.scalarInt("SELECT count(*) FROM distinct_pending")
    }

    private func assertRollupMatchesRecords(file: StaticString = #filePath, line: UInt = #line) throws {
        let connection = try SQLiteConnection(path: rollups.path, readOnly: true)
        defer { connection.close() }
        let dayOf = "(server_time - ((server_time % 86400000000) + 86400000000) % 86400000000) / 86400000000"
        // The combination is the dimensions' slots; the distinct path's slot comes after them.
        let combinationBytes = rollups.settings.dimensions.count * 4
        XCTAssertEqual(try connection.scalarInt("SELECT count(*) FROM daily_combinations WHERE n <= 0"), 0, file: file, line: line)
        XCTAssertEqual(try connection.scalarInt("SELECT coalesce(sum(n), 0) FROM daily_combinations"),
                       try connection.scalarInt("SELECT count(*) FROM records"), file: file, line: line)
        XCTAssertEqual(try connection.scalarInt("""
            SELECT count(*) FROM (SELECT \(dayOf) AS day, substr(dims, 1, \(combinationBytes)) AS dims, count(*) AS n
                                  FROM records GROUP BY 1, 2) AS truth
            LEFT JOIN daily_combinations AS c USING (day, dims) WHERE c.n IS NOT truth.n
            """), 0, "every combination of the records has its row and count", file: file, line: line)
        // Every (day, combination, host) of the records, with how many records carry it.
        var truth: [String: Int64] = [:]
        let records = try connection.uncachedStatement("SELECT \(dayOf), dims FROM records")
        while try records.step() {
            let dims = Array(records.bytes(1))
            let host = dims[combinationBytes...].withUnsafeBufferPointer { DimensionValues.valueID(in: $0, slot: 0) }
            guard host != DimensionValues.missing else { continue }
            truth["\(records.int(0)) \(dims.prefix(combinationBytes)) \(host)", default: 0] += 1
        }
        var stored: [String: Int64] = [:]
        let rows = try connection.uncachedStatement("""
            SELECT day, dims, value_id, sum(n) FROM (SELECT day, dims, value_id, n FROM daily_distinct
                                                     UNION ALL SELECT day, dims, value_id, n FROM distinct_pending)
            GROUP BY 1, 2, 3
            """)
        while try rows.step() { stored["\(rows.int(0)) \(Array(rows.bytes(1))) \(rows.int(2))"] = rows.int(3) }
        XCTAssertFalse(truth.isEmpty, file: file, line: line)
        XCTAssertEqual(stored, truth, "the distinct rollup holds each host of each day and combination, counted", file: file, line: line)
    }
}
