import EspyTestKit
import Foundation
import XCTest

/// Replicas converging by themselves, on real node processes: after a crash mid-ingest, while a
/// node joins and leaves under read load, after an operator removes a dead node, and after a
/// datacenter was cut off while both sides took writes.
final class RepairTests: XCTestCase {
    private var cluster: ClusterHarness!
    private let six = ["n1", "n2", "n3", "n4", "n5", "n6"]

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0)
    }

    private func truth(_ profiles: [ProfileGenerator.Profile]) -> [String: Int] {
        Dictionary(grouping: profiles, by: { String($0.major) }).mapValues(\.count)
    }

    private func assertConverged(records: Int, within seconds: TimeInterval, file: StaticString = #filePath, line: UInt = #line) {
        var problems: [String] = []
        let converged = cluster.waitUntil(seconds) {
            problems = cluster.convergenceProblems(records: records)
            return problems.isEmpty
        }
        XCTAssertTrue(converged, "not converged after \(Int(seconds)) s: \(problems.prefix(8))", file: file, line: line)
    }

    private func assertCountsExact(_ truth: [String: Int], at names: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        for name in names {
            let (status, json) = try cluster.count(at: name, "group_by=python$version_info$0")
            XCTAssertEqual(status, 200, "\(json)", file: file, line: line)
            XCTAssertEqual(json["counts"] as? [String: Int], truth, "at \(name)", file: file, line: line)
        }
    }

    func testAReplicaKilledMidIngest_catchesUpAfterRestart_withEveryAcknowledgedRecordOnAllReplicas() throws {
        try cluster.startCluster(six)
        let all = ProfileGenerator.profiles(50_000, seed: 61)
        // The ingest runs on its own thread, batch after batch, and n4 is killed while it runs:
        // some batch is in flight to n4 when it dies. Every batch must still be acknowledged,
        // since the other two replicas are a majority.
        let ingest = BackgroundIngest(all, through: cluster["n2"], batch: 2_500)
        XCTAssertTrue(cluster.waitUntil(60) { ingest.posted >= 20_000 })
        cluster["n4"].terminateHard()
        XCTAssertTrue(cluster.waitUntil(120) { ingest.isFinished }, "the ingest did not finish")
        XCTAssertEqual(ingest.refused, [], "a batch was not acknowledged with one replica down")
        XCTAssertEqual(cluster.convergenceProblems(records: 50_000).isEmpty, false, "n4 missed records while it was down")

        try cluster.restart("n4")
        assertConverged(records: 50_000, within: 90)
        // Converged data is not enough for reads: n4 serves its partitions once it has
        // reconciled each with the other replicas.
        var handoff: [String: Any] = [:]
        XCTAssertTrue(cluster.waitUntil(90) {
            handoff = (try? cluster.partitions(of: "n4")["handoff"] as? [String: Any]) ?? [:]
            return (handoff["catching_up"] as? [String: Any])?["partitions"] as? Int == 0
        }, "n4 still catching up: \(handoff)")
        XCTAssertGreaterThan((handoff["records_pulled"] as? Int ?? 0) + hintsDelivered(), 0, "the gap was filled by repair or hints")
        try assertCountsExact(truth(all), at: six)
        let report = try runEspyMetrics(["partitions", "--http", "127.0.0.1:\(cluster["n4"].httpPort)"])
        XCTAssertEqual(report.status, 0, report.output)
        XCTAssertTrue(report.output.contains("catching up       0  ("), report.output)
        XCTAssertTrue(report.output.contains("under-replicated  0\n"), report.output)
        XCTAssertTrue(report.output.contains("  n4  "), report.output)

        // SIGINT is a stop, not a leave: the others keep n5's partitions on it.
        cluster["n5"].signal(SIGINT)
        XCTAssertEqual(cluster["n5"].waitForExit(timeout: 30), 0)
        XCTAssertTrue(cluster.waitUntil(30) { !cluster.alive(seenBy: "n1").contains("n5") })
        let owned = try XCTUnwrap(try cluster.partitions(of: "n1")["owned"] as? [String: Int])
        XCTAssertGreaterThan(owned["n5"] ?? 0, 1_000, "n5 still owns its partitions: \(owned)")
        let members = try XCTUnwrap(try cluster["n1"].request("GET", "/v1/cluster/members").json()?["members"] as? [[String: Any]])
        XCTAssertNotEqual(members.first { $0["name"] as? String == "n5" }?["status"] as? String, "left")
    }

    /// Hinted records delivered cluster-wide, from /metrics.
    private func hintsDelivered() -> Int {
        cluster.running.reduce(0) { total, name in
            let text = (try? cluster[name].request("GET", "/metrics").bodyText) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("espymetrics_cluster_hints_delivered_total") }
            return total + (line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0)
        }
    }

    func testASeventhNodeJoinsAndLeavesUnderReadLoad_andCountsStayExactThroughout() throws {
        try cluster.startCluster(six)
        let all = ProfileGenerator.profiles(50_000, seed: 62)
        let expected = truth(all)
        try cluster.ingest(all[...], through: "n1")
        assertConverged(records: 50_000, within: 30)

        try cluster.start("n7", datacenter: "dc1")
        let load = ReadLoad(harness: cluster, names: six + ["n7"], truth: expected)
        load.start()
        XCTAssertTrue(cluster.waitUntil(30) { cluster.alive(seenBy: "n1").contains("n7") }, "n7 did not join")
        // A download coordinated by n7 while it catches up: what it may not serve itself comes
        // from other replicas, every record once.
        let lines = try cluster["n7"].request("GET", "/v1/download/import").bodyText.split(separator: "\n")
        XCTAssertEqual(lines.count, 50_000)
        XCTAssertEqual(Set(lines).count, 50_000, "a record came twice")
        assertConverged(records: 50_000, within: 120)
        let duringJoin = load.stop()
        XCTAssertGreaterThan(duringJoin.checks, 20)
        XCTAssertEqual(duringJoin.wrong, [], "a count was not exact while n7 caught up")
        let n7 = try cluster.partitions(of: "n7")
        let n7Owns = try XCTUnwrap((n7["owned"] as? [String: Int])?["n7"])
        XCTAssertGreaterThan(n7Owns, 800, "n7 took about a third of dc1's partitions")
        XCTAssertEqual(try cluster.digests(of: "n7").count, n7Owns)
        try assertCountsExact(expected, at: six + ["n7"])

        // Graceful leave: n7 hands its partitions back before it exits.
        let leaveLoad = ReadLoad(harness: cluster, names: six, truth: expected)
        leaveLoad.start()
        let leave = try runEspyMetrics(["leave", "--http", "127.0.0.1:\(cluster["n7"].httpPort)"])
        XCTAssertEqual(leave.status, 0, leave.output)
        // While it hands off, it tells load balancers to send it nothing more (unless it is
        // already gone, which this much data does not allow on any machine seen so far).
        if let ready = try? cluster["n7"].request("GET", "/v1/ready") {
            XCTAssertEqual(ready.status, 503, ready.bodyText)
            XCTAssertTrue(ready.bodyText.contains("leaving the cluster"), ready.bodyText)
        }
        XCTAssertEqual(cluster["n7"].waitForExit(timeout: 120), 0, "n7 did not finish its handoff")
        XCTAssertTrue(cluster["n7"].log.contains("every partition handed off"), "n7 stopped before handing off")
        XCTAssertTrue(cluster.waitUntil(30) { !cluster.alive(seenBy: "n1").contains("n7") })
        assertConverged(records: 50_000, within: 120)
        let duringLeave = leaveLoad.stop()
        XCTAssertGreaterThan(duringLeave.checks, 20)
        XCTAssertEqual(duringLeave.wrong, [], "a count was not exact while n7 left")
    }

    func testANodeRemovedByForceAfterKill9_isRebuiltFromTheOtherReplicas() throws {
        try cluster.startCluster(six)
        let all = ProfileGenerator.profiles(40_000, seed: 63)
        try cluster.ingest(all[...], through: "n5")
        assertConverged(records: 40_000, within: 30)

        cluster["n6"].terminateHard()
        XCTAssertTrue(cluster.waitUntil(30) { !cluster.alive(seenBy: "n1").contains("n6") }, "n6 not noticed")
        let refused = try runEspyMetrics(["remove", "n1", "--http", "127.0.0.1:\(cluster["n2"].httpPort)"])
        XCTAssertEqual(refused.status, 1, "a live node cannot be removed: \(refused.output)")
        let removed = try runEspyMetrics(["remove", "n6", "--http", "127.0.0.1:\(cluster["n1"].httpPort)"])
        XCTAssertEqual(removed.status, 0, removed.output)

        // n3 is dc3's only node now: it rebuilds dc3's full copy from dc1 and dc2.
        assertConverged(records: 40_000, within: 120)
        XCTAssertEqual(try cluster.digests(of: "n3").count, ClusterHarness.partitionCount)
        for name in ["n1", "n2", "n3", "n4", "n5"] {
            let owned = try XCTUnwrap(try cluster.partitions(of: name)["owned"] as? [String: Int])
            XCTAssertNil(owned["n6"], "\(name) still places partitions on n6")
        }
        try assertCountsExact(truth(all), at: ["n1", "n2", "n3", "n4", "n5"])
    }
}
