import EspyCluster
import EspyCore
import EspyTestRandom
import XCTest

/// Plans, answers and merges whole queries over a simulated 200-node cluster whose replicas hold
/// generated records, and checks the merged answer against ground truth computed from the records.
final class ScatterGatherTests: XCTestCase {
    private static let view = ClusterFixtures.view(ClusterFixtures.nodes(200))
    private static let map = PartitionMap(view: view)
    /// 20,000 records by partition; every replica of a partition holds exactly these.
    private static let recordsByPartition: [[RecentRecord]] = {
        var random = SplitMix64(seed: 42)
        var byPartition = [[RecentRecord]](repeating: [], count: map.partitionCount)
        for _ in 0..<20_000 {
            let id = RecordID(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
            let grouping: RecentRecord.Grouping = Int.random(in: 0..<10, using: &random) == 0
                ? .missing : .key(["3.11", "3.12", "3.13"][Int.random(in: 0..<3, using: &random)])
            let record = RecentRecord(serverTime: Timestamp(microseconds: Int64.random(in: 0..<5_000, using: &random)),
                                      id: id, grouping: grouping)
            byPartition[id.partition(of: map.partitionCount)].append(record)
        }
        return byPartition
    }()

    private struct Outcome {
        var counts: CountResult
        var newestCounts: CountResult
        var coverage: Coverage
    }

    /// - failing: nodes whose requests fail at once (killed, not yet noticed by gossip).
    /// - slow: nodes whose requests time out, then answer late.
    private func query(from selfName: MemberName, failing: Set<MemberName> = [], slow: Set<MemberName> = [],
                       unroutable: Set<MemberName> = [], maxAttempts: Int? = nil, limit: Int = 25) -> Outcome {
        let view = Self.view, map = Self.map
        var plan = QueryPlan(partitions: Array(0..<map.partitionCount), map: map, view: view, selfName: selfName,
                             routable: view.routableMembers.subtracting(unroutable), maxAttemptsPerPartition: maxAttempts)
        var queue = plan.initialSubRequests
        var timedOut: [QueryPlan.SubRequest] = []
        var counts: [CountResult] = [], newest: [[RecentRecord]] = []
        while !queue.isEmpty {
            let request = queue.removeFirst()
            XCTAssertTrue(Set(map.partitions(ownedBy: request.node)).isSuperset(of: request.partitions), "asked a non-replica")
            if failing.contains(request.node) || slow.contains(request.node) {
                if slow.contains(request.node) { timedOut.append(request) }
                queue += plan.replan(afterFailureOf: request.node)
            } else if plan.onAnswer(of: request.id) == .merge {
                let records = request.partitions.flatMap { Self.recordsByPartition[$0] }
                counts.append(CountMerge.count(records))
                newest.append(Array(records.sorted(by: RecentRecord.isNewer).prefix(limit)))
            }
        }
        for request in timedOut { XCTAssertEqual(plan.onAnswer(of: request.id), .discard, "late answer merged") }
        XCTAssertTrue(plan.isFinished)
        return Outcome(counts: CountMerge.sum(counts), newestCounts: CountMerge.countNewest(newest, limit: limit),
                       coverage: plan.coverage)
    }

    private func truth(excluding missing: Set<Int> = [], limit: Int = 25) -> (CountResult, CountResult) {
        let records = Self.recordsByPartition.enumerated().filter { !missing.contains($0.offset) }.flatMap(\.element)
        let sorted = records.sorted { $0.serverTime != $1.serverTime ? $0.serverTime > $1.serverTime : $0.id.description > $1.id.description }
        return (CountMerge.count(records), CountMerge.count(Array(sorted.prefix(limit))))
    }

    func testAllNodesUp_everyNodeGivesTheExactAnswer() {
        let (all, newest) = truth()
        XCTAssertEqual(all.recordCount, 20_000)
        for node in ["node-001", "node-100", "node-200"] as [MemberName] {
            let outcome = query(from: node)
            XCTAssertEqual(outcome.counts, all, "\(node)")
            XCTAssertEqual(outcome.newestCounts, newest, "\(node)")
            XCTAssertFalse(outcome.coverage.isPartial)
            XCTAssertEqual(CoverageDecision(coverage: outcome.coverage, allowPartial: false), .complete)
        }
    }

    func testKilledAndSlowNodes_otherReplicasAnswer_exactlyOnce() {
        let (all, newest) = truth()
        // node-002 is in dc-b, and so are these: its first choices, each failing in its own way.
        let outcome = query(from: "node-002", failing: ["node-005", "node-011"], slow: ["node-008", "node-014"])
        XCTAssertEqual(outcome.counts, all)
        XCTAssertEqual(outcome.newestCounts, newest)
        XCTAssertEqual(outcome.coverage.nodesFailed, ["node-005", "node-008", "node-011", "node-014"])
        XCTAssertEqual(CoverageDecision(coverage: outcome.coverage, allowPartial: false), .complete)
    }

    func testAllReplicasOfSomePartitionsDown_namesExactlyThose() {
        let killed = Set(Self.map.replicas(of: 17) + Self.map.replicas(of: 2000))
        let lost = Set((0..<Self.map.partitionCount).filter { Set(Self.map.replicas(of: $0)).isSubset(of: killed) })
        XCTAssertTrue(lost.isSuperset(of: [17, 2000]))
        for unroutable in [Set<MemberName>(), killed] {
            let outcome = query(from: "node-100", failing: killed, unroutable: unroutable)
            let (present, newest) = truth(excluding: lost)
            XCTAssertEqual(outcome.coverage.missingPartitions, lost.sorted())
            XCTAssertEqual(outcome.counts, present, "the answered partitions are still exact")
            XCTAssertEqual(outcome.newestCounts, newest)
            XCTAssertEqual(CoverageDecision(coverage: outcome.coverage, allowPartial: false), .unavailable(missing: lost.sorted()))
            XCTAssertEqual(CoverageDecision(coverage: outcome.coverage, allowPartial: true), .partial(missing: lost.sorted()))
        }
    }

    func testCappedRetries_mayMissMore_butNameEverythingMissing_andCountTheRestExactly() {
        let killed = Set(Self.map.replicas(of: 17) + Self.map.replicas(of: 2000))
        let outcome = query(from: "node-100", failing: killed, maxAttempts: 2)
        let missing = Set(outcome.coverage.missingPartitions)
        XCTAssertTrue(missing.isSuperset(of: [17, 2000]))
        let (present, newest) = truth(excluding: missing)
        XCTAssertEqual(outcome.counts, present)
        XCTAssertEqual(outcome.newestCounts, newest)
        XCTAssertEqual(outcome.coverage.partitionsAnswered + missing.count, Self.map.partitionCount)
    }
}
