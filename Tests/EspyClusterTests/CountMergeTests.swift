import EspyCluster
import EspyCore
import EspyTestRandom
import XCTest

final class CountMergeTests: XCTestCase {
    private func record(_ time: Int64, _ idByte: UInt8, _ grouping: RecentRecord.Grouping = .ungrouped) -> RecentRecord {
        RecentRecord(serverTime: Timestamp(microseconds: time), id: RecordID(bytes: [idByte] + [UInt8](repeating: 0, count: 15)),
                     grouping: grouping)
    }

    func testSum_addsPartials() {
        let total = CountMerge.sum([
            CountResult(recordCount: 5, counts: ["3": 4], missingCount: 1),
            CountResult(recordCount: 2, counts: ["3": 1, "2": 1]),
            CountResult(),
        ])
        XCTAssertEqual(total, CountResult(recordCount: 7, counts: ["3": 5, "2": 1], missingCount: 1))
    }

    func testNewest_ordersByTimeThenIdBytes_descending() {
        let merged = CountMerge.newest([[record(5, 0x01), record(3, 0xff)], [record(5, 0x80), record(4, 0x00)]], limit: 3)
        XCTAssertEqual(merged, [record(5, 0x80), record(5, 0x01), record(4, 0x00)])
    }

    func testNewest_takesTheGlobalN_notNFromEachNode() {
        let busy = (0..<5).map { record(100 - Int64($0), UInt8($0), .key("busy")) }
        let quiet = [record(10, 9, .key("quiet")), record(9, 8, .missing)]
        XCTAssertEqual(CountMerge.countNewest([busy, quiet], limit: 5), CountResult(recordCount: 5, counts: ["busy": 5]))
        XCTAssertEqual(CountMerge.countNewest([busy, quiet], limit: 7),
                       CountResult(recordCount: 7, counts: ["busy": 5, "quiet": 1], missingCount: 1))
    }

    func testNewest_limitZeroOrBeyondEverything() {
        let partial = [record(2, 1), record(1, 1)]
        XCTAssertEqual(CountMerge.newest([partial], limit: 0), [])
        XCTAssertEqual(CountMerge.newest([partial, []], limit: 100), partial)
        XCTAssertEqual(CountMerge.newest([], limit: 3), [])
    }

    func testNewest_sortsAPartialThatIsOutOfOrder_andTakesADuplicateOnce() {
        let merged = CountMerge.newest([[record(1, 1), record(3, 1)], [record(3, 1), record(2, 1)]], limit: 10)
        XCTAssertEqual(merged, [record(3, 1), record(2, 1), record(1, 1)])
    }

    func testCount_ungroupedRecordsOnlyCount() {
        XCTAssertEqual(CountMerge.count([record(1, 1), record(2, 2)]), CountResult(recordCount: 2))
    }

    /// The exactness claim: each node's newest N, merged, counts exactly what sorting every record
    /// in the cluster would. Many seeds, tied server times, uneven nodes.
    func testCountNewest_matchesBruteForceOverAllRecords() {
        for seed in UInt64(1)...40 {
            var random = SplitMix64(seed: seed)
            let nodeCount = Int.random(in: 1...8, using: &random)
            var nodes = [[RecentRecord]](repeating: [], count: nodeCount)
            for _ in 0..<Int.random(in: 0...400, using: &random) {
                let grouping: RecentRecord.Grouping = [.missing, .key("x"), .key("y"), .key("z")][Int.random(in: 0...3, using: &random)]
                let id = RecordID(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
                let time = Timestamp(microseconds: Int64.random(in: 0...50, using: &random))
                nodes[Int.random(in: 0..<nodeCount, using: &random)].append(RecentRecord(serverTime: time, id: id, grouping: grouping))
            }
            let everything = nodes.flatMap { $0 }
            for limit in [0, 1, 7, 50, 399, 1000] {
                let partials = nodes.map { Array($0.sorted(by: RecentRecord.isNewer).prefix(limit)) }
                let expected = Array(everything.sorted(by: bruteForceNewer).prefix(limit))
                XCTAssertEqual(CountMerge.newest(partials, limit: limit), expected, "seed \(seed) limit \(limit)")
                XCTAssertEqual(CountMerge.countNewest(partials, limit: limit), bruteForceCount(expected), "seed \(seed) limit \(limit)")
            }
        }
    }

    /// Written independently of `RecentRecord.isNewer`: compare ids as hex strings.
    private func bruteForceNewer(_ a: RecentRecord, _ b: RecentRecord) -> Bool {
        a.serverTime != b.serverTime ? a.serverTime > b.serverTime : a.id.description > b.id.description
    }

    private func bruteForceCount(_ records: [RecentRecord]) -> CountResult {
        var result = CountResult(recordCount: records.count)
        for record in records {
            switch record.grouping {
            case .ungrouped, .excluded: break
            case .missing: result.missingCount += 1
            case let .key(key): result.counts[key, default: 0] += 1
            }
        }
        return result
    }
}

final class CoverageDecisionTests: XCTestCase {
    private func coverage(answered: Int, missing: [Int]) -> Coverage {
        Coverage(partitionsTotal: answered + missing.count, partitionsAnswered: answered, missingPartitions: missing,
                 nodesQueried: 3, nodesAnswered: missing.isEmpty ? 3 : 2, nodesFailed: missing.isEmpty ? [] : ["c1"])
    }

    func testCompleteCoverage_is200_whateverAllowPartial() {
        for allowPartial in [false, true] {
            let decision = CoverageDecision(coverage: coverage(answered: 64, missing: []), allowPartial: allowPartial)
            XCTAssertEqual(decision, .complete)
            XCTAssertEqual(decision.httpStatus, 200)
            XCTAssertEqual(decision.missingPartitions, [])
        }
    }

    func testMissingPartitions_are503ByDefault_namingThem() {
        let decision = CoverageDecision(coverage: coverage(answered: 61, missing: [4, 9, 33]), allowPartial: false)
        XCTAssertEqual(decision, .unavailable(missing: [4, 9, 33]))
        XCTAssertEqual(decision.httpStatus, 503)
    }

    func testMissingPartitions_with_allowPartial_are200Partial() {
        let covered = coverage(answered: 61, missing: [4, 9, 33])
        XCTAssertTrue(covered.isPartial)
        let decision = CoverageDecision(coverage: covered, allowPartial: true)
        XCTAssertEqual(decision, .partial(missing: [4, 9, 33]))
        XCTAssertEqual(decision.httpStatus, 200)
    }

    func testNothingAnswered_isStillOnlyPartial_whenAllowed() {
        XCTAssertEqual(CoverageDecision(coverage: coverage(answered: 0, missing: [0, 1]), allowPartial: true).httpStatus, 200)
        XCTAssertEqual(CoverageDecision(coverage: coverage(answered: 0, missing: [0, 1]), allowPartial: false).httpStatus, 503)
    }
}
