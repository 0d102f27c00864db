import EspyCluster
import EspyCore
import EspyTestRandom
import XCTest

/// Drives a paged `ScatterGather` (the cluster export) over a simulated 200-node cluster whose
/// replicas hold generated records, with nodes failing mid-read, declining partitions and
/// refusing reads, and checks that every record of the readable partitions is delivered exactly
/// once and that what could not be read is named.
final class ScatterGatherPagesTests: XCTestCase {
    private typealias Driver = ScatterGather<Never>
    private static let view = ClusterFixtures.view(ClusterFixtures.nodes(200))
    private static let map = PartitionMap(view: view)

    private struct Record: Hashable {
        let partition: Int
        let serverTime: Int64
        let id: [UInt8]
        var cursor: ExportCursor { ExportCursor(serverTime: serverTime, id: id) }
        static func isBefore(_ a: Record, _ b: Record) -> Bool {
            a.serverTime != b.serverTime ? a.serverTime < b.serverTime : a.id.lexicographicallyPrecedes(b.id)
        }
    }

    /// 20,000 records; every replica of a partition holds exactly those of it. Times repeat, so
    /// cursors must order by id too.
    private static let records: [Record] = {
        var random = SplitMix64(seed: 7)
        return (0..<20_000).map { _ in
            Record(partition: Int.random(in: 0..<map.partitionCount, using: &random),
                   serverTime: Int64.random(in: 0..<2_000, using: &random),
                   id: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
    }()
    private static let recordsByPartition = Dictionary(grouping: records, by: \.partition)

    /// What a node answers for a page read: the next `pageSize` records of the read's partitions
    /// after its cursor, in `(server_time, id)` order, and where the next page starts.
    private func page(_ read: Driver.PageRead, without declined: Set<Int>, size: Int) -> ([Record], ExportCursor?) {
        let after = read.partitions.filter { !declined.contains($0) }.flatMap { Self.recordsByPartition[$0] ?? [] }
            .filter { record in read.cursor.map { Record.isBefore(Record(partition: 0, serverTime: $0.serverTime, id: $0.id), record) } ?? true }
            .sorted(by: Record.isBefore)
        let taken = Array(after.prefix(size))
        return (taken, after.count > size ? taken.last!.cursor : nil)
    }

    private struct Outcome {
        var delivered: [Record] = []
        var reads = 0
        var driver: Driver
    }

    /// - failingAfter: nodes that answer this many pages, then fail every read.
    /// - declining: partitions a node declines (catching up) the first time it is read for them.
    /// - refusing: nodes that answer every read with a 4xx.
    private func export(from selfName: MemberName, failingAfter: [MemberName: Int] = [:], declining: [MemberName: Set<Int>] = [:],
                        refusing: Set<MemberName> = [], pageSize: Int = 50) -> Outcome {
        let plan = QueryPlan(partitions: Array(0..<Self.map.partitionCount), map: Self.map, view: Self.view,
                             selfName: selfName, routable: Self.view.routableMembers)
        var outcome = Outcome(driver: Driver(pagedPlan: plan))
        var pagesServed: [MemberName: Int] = [:]
        var declining = declining
        for _ in 0..<100_000 {
            guard case .read(let read) = outcome.driver.nextPage() else { return outcome }
            outcome.reads += 1
            XCTAssertTrue(Set(Self.map.partitions(ownedBy: read.node)).isSuperset(of: read.partitions), "read from a non-replica")
            if refusing.contains(read.node) {
                outcome.driver.pageFailed(refused: true)
                continue
            }
            if let limit = failingAfter[read.node], pagesServed[read.node, default: 0] >= limit {
                outcome.driver.pageFailed()
                continue
            }
            pagesServed[read.node, default: 0] += 1
            let declined = declining.removeValue(forKey: read.node)?.intersection(read.partitions) ?? []
            let (records, next) = page(read, without: declined, size: pageSize)
            outcome.delivered += records
            outcome.driver.pageAnswered(declined: declined.sorted(), next: next)
        }
        XCTFail("the export did not finish")
        return outcome
    }

    private func assertEveryRecordOnce(_ outcome: Outcome, missing: Set<Int> = [], file: StaticString = #filePath, line: UInt = #line) {
        let expected = Self.records.filter { !missing.contains($0.partition) }
        XCTAssertEqual(outcome.delivered.count, expected.count, "records delivered", file: file, line: line)
        XCTAssertEqual(Set(outcome.delivered).count, outcome.delivered.count, "a record delivered twice", file: file, line: line)
        XCTAssertTrue(Set(outcome.delivered) == Set(expected), "other records delivered than expected", file: file, line: line)
        XCTAssertTrue(outcome.driver.isFinished, file: file, line: line)
        XCTAssertEqual(outcome.driver.plan.missingPartitions, missing.sorted(), file: file, line: line)
    }

    func testAllNodesUp_everyRecordOnce_inPagesOfEachNode() {
        let outcome = export(from: "node-001")
        assertEveryRecordOnce(outcome)
        XCTAssertGreaterThan(outcome.reads, outcome.driver.plan.initialSubRequests.count, "reads came in several pages")
        XCTAssertFalse(outcome.driver.plan.coverage.isPartial)
    }

    /// Nodes fail after some pages (mid-read); their partitions continue on other replicas from
    /// the cursor each had reached, so nothing already delivered comes again.
    func testNodesFailingMidRead_continueElsewhereFromTheirCursors() {
        let first = export(from: "node-002").driver.plan.initialSubRequests.map(\.node)
        let failing = Dictionary(uniqueKeysWithValues: [first[0], first[3], first[7]].enumerated().map { ($0.element, $0.offset) })
        let outcome = export(from: "node-002", failingAfter: failing)
        assertEveryRecordOnce(outcome)
        XCTAssertEqual(outcome.driver.plan.coverage.nodesFailed, failing.keys.sorted())
    }

    /// A node declines partitions it may not be read for yet, partway through a read: they move
    /// to their next replica from the cursor the read had, and the rest of the read goes on.
    func testDeclinedPartitions_moveFromTheReadsCursor() {
        let plan = QueryPlan(partitions: Array(0..<Self.map.partitionCount), map: Self.map, view: Self.view,
                             selfName: "node-003", routable: Self.view.routableMembers)
        let read = plan.initialSubRequests[2]
        let outcome = export(from: "node-003", declining: [read.node: Set(read.partitions.prefix(5))])
        assertEveryRecordOnce(outcome)
        XCTAssertEqual(outcome.driver.plan.coverage.nodesFailed, [])
    }

    func testARefusingNode_isNamedAsRefusing_andItsPartitionsAreReadElsewhere() {
        let refusing = export(from: "node-004").driver.plan.initialSubRequests[1].node
        let outcome = export(from: "node-004", refusing: [refusing])
        assertEveryRecordOnce(outcome)
        XCTAssertEqual(outcome.driver.plan.coverage.nodesRefused, [refusing])
        XCTAssertEqual(outcome.driver.plan.coverage.nodesFailed, [])
    }

    /// Every replica of some partitions fails: exactly those are missing, and the records of all
    /// the others are still delivered once.
    func testAllReplicasOfSomePartitionsFailing_namesExactlyThose() {
        let killed = Set(Self.map.replicas(of: 17) + Self.map.replicas(of: 2000))
        let lost = Set((0..<Self.map.partitionCount).filter { Set(Self.map.replicas(of: $0)).isSubset(of: killed) })
        let outcome = export(from: "node-100", failingAfter: Dictionary(uniqueKeysWithValues: killed.map { ($0, 0) }))
        assertEveryRecordOnce(outcome, missing: lost)
        XCTAssertTrue(lost.isSuperset(of: [17, 2000]))
        XCTAssertEqual(CoverageDecision(coverage: outcome.driver.plan.coverage, allowPartial: false), .unavailable(missing: lost.sorted()))
    }
}
