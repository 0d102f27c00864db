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

    /// A node's partial answer: its counts and its newest `limit` records.
    private typealias Partial = (counts: CountResult, newest: [RecentRecord])

    private func answer(_ request: QueryPlan.SubRequest, limit: Int) -> Partial {
        let records = request.partitions.flatMap { Self.recordsByPartition[$0] }
        return (CountMerge.count(records), Array(records.sorted(by: RecentRecord.isNewer).prefix(limit)))
    }

    private func outcome(of driver: ScatterGather<Partial>, limit: Int) -> Outcome {
        Outcome(counts: CountMerge.sum(driver.partials.map(\.counts)),
                newestCounts: CountMerge.countNewest(driver.partials.map(\.newest), limit: limit), coverage: driver.plan.coverage)
    }

    /// Drives a `ScatterGather` over the cluster with the clock standing still (so nothing is hedged).
    /// - failing: nodes whose requests fail at once (killed, not yet noticed by gossip).
    /// - slow: nodes whose requests time out, then answer late.
    private func query(from selfName: MemberName, failing: Set<MemberName> = [], slow: Set<MemberName> = [],
                       unroutable: Set<MemberName> = [], maxAttempts: Int? = nil, limit: Int = 25) -> Outcome {
        let view = Self.view, map = Self.map
        let plan = QueryPlan(partitions: Array(0..<map.partitionCount), map: map, view: view, selfName: selfName,
                             routable: view.routableMembers.subtracting(unroutable), maxAttemptsPerPartition: maxAttempts)
        var driver = ScatterGather<Partial>(plan: plan)
        var timing = HedgeTiming()
        var queue: [QueryPlan.SubRequest] = []
        var finished = false
        func take(_ actions: [ScatterGather<Partial>.Action]) {
            for action in actions {
                switch action {
                case .send(let request, _): queue.append(request)
                case .wake: break
                case .finish: finished = true
                }
            }
        }
        take(driver.start(now: 0, timing: &timing))
        var timedOut: [QueryPlan.SubRequest] = []
        while !queue.isEmpty {
            let request = queue.removeFirst()
            XCTAssertTrue(Set(map.partitions(ownedBy: request.node)).isSuperset(of: request.partitions), "asked a non-replica")
            if failing.contains(request.node) || slow.contains(request.node) {
                if slow.contains(request.node) { timedOut.append(request) }
                take(driver.failed(request.id, now: 0, timing: &timing))
            } else {
                take(driver.answered(request.id, with: answer(request, limit: limit), now: 0, timing: &timing))
            }
        }
        XCTAssertTrue(finished)
        let merged = driver.partials.count
        for request in timedOut { take(driver.answered(request.id, with: answer(request, limit: limit), now: 0, timing: &timing)) }
        XCTAssertEqual(driver.partials.count, merged, "late answer merged")
        return outcome(of: driver, limit: limit)
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

    /// Time passes: every peer answers in 2 ms but one, which takes 5 s. Once that one has been
    /// out longer than a peer usually takes, its partitions are asked of their next replicas,
    /// the query finishes exactly from those, and the straggler's late answer is not merged.
    func testAStragglerIsHedgedOnceItIsLate_andTheAnswerIsExactWithoutIt() {
        let (all, _) = truth()
        let view = Self.view, map = Self.map
        var driver = ScatterGather<Partial>(plan: QueryPlan(partitions: Array(0..<map.partitionCount), map: map, view: view,
                                                            selfName: "node-001", routable: view.routableMembers))
        var timing = HedgeTiming()
        timing.sent(10_000)  // a node that has served a while has its full hedge budget
        let straggler: MemberName = "node-007"
        // Answers due, by arrival time; the clock jumps from one event to the next.
        var arrivals: [(at: UInt64, request: QueryPlan.SubRequest)] = []
        var wakes: [UInt64] = []
        var finishedAt: UInt64?
        var hedges = 0
        func take(_ actions: [ScatterGather<Partial>.Action], now: UInt64) {
            for action in actions {
                switch action {
                case .send(let request, let reason):
                    if reason == .hedge { hedges += 1 }
                    arrivals.append((now + (request.node == straggler ? 5_000 : 2), request))
                case .wake(let at): wakes.append(at)
                case .finish: finishedAt = now
                }
            }
        }
        take(driver.start(now: 0, timing: &timing), now: 0)
        for _ in 0..<10_000 {
            let nextArrival = arrivals.map(\.at).min()
            let nextWake = wakes.min()
            guard let now = [nextArrival, nextWake].compactMap({ $0 }).min() else { break }
            if nextWake == now {
                wakes.removeAll { $0 == now }
                take(driver.tick(now: now, timing: &timing), now: now)
            } else {
                let index = arrivals.firstIndex { $0.at == now }!
                let request = arrivals.remove(at: index).request
                take(driver.answered(request.id, with: answer(request, limit: 25), now: now, timing: &timing), now: now)
            }
        }
        XCTAssertGreaterThan(hedges, 0, "the straggler was not hedged")
        XCTAssertNotNil(finishedAt)
        XCTAssertLessThan(finishedAt ?? .max, 5_000, "the query waited for the straggler")
        let outcome = outcome(of: driver, limit: 25)
        XCTAssertEqual(outcome.counts, all)
        XCTAssertFalse(outcome.coverage.isPartial)
        XCTAssertTrue(arrivals.isEmpty, "every answer, the straggler's too, was fed in")
    }
}
