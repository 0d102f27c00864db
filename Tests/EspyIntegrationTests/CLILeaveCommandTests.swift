import EspyTestKit
import Foundation
import XCTest

/// `espymetrics leave` says what the node will do: hand its partitions to others, or stop at
/// once when there is nothing to hand off (as the node's own log says).
final class CLILeaveCommandTests: XCTestCase {
    func testLeavingASingleNodeSaysThereIsNothingToHandOff() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let node = try NodeProcess(dataDirectory: directory.file("data"))
        defer { node.terminateHard() }
        let records = (0..<50).map { #"{"n":\#($0)}"# }.joined(separator: "\n")
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(records.utf8)).status, 200)

        let result = try runEspyMetrics(["leave", "--http", "127.0.0.1:\(node.httpPort)"])

        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("nothing to hand off"), result.output)
        XCTAssertFalse(result.output.contains("handing off"), result.output)
        XCTAssertEqual(node.waitForExit(), 0)
        // The log pipe is read asynchronously: its last lines may arrive after the exit.
        let deadline = Date().addingTimeInterval(5)
        while !node.log.contains("leaving: nothing to hand off") && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(node.log.contains("leaving: nothing to hand off"), node.log)
    }

    func testLeavingANodeWithPeersSaysHowManyPartitionsGoToHowManyMembers() throws {
        let cluster = ClusterHarness()
        defer { cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0) }
        try cluster.start("n1", datacenter: "dc1")
        try cluster.start("n2", datacenter: "dc1")
        for name in ["n1", "n2"] {
            XCTAssertTrue(cluster.waitUntil(30) { cluster.alive(seenBy: name) == ["n1", "n2"] }, "cluster did not form at \(name)")
        }
        var generator = ProfileGenerator(seed: 7)
        let profiles = (0..<500).map { generator.profile(index: $0) }
        try cluster.ingest(profiles[...], through: "n1")
        let held = try XCTUnwrap(try cluster.digests(of: "n2").count)
        XCTAssertGreaterThan(held, 0)

        let result = try runEspyMetrics(["leave", "--http", "127.0.0.1:\(cluster["n2"].httpPort)"])

        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("n2 is leaving; handing off \(held) partitions to 1 other member"), result.output)
        XCTAssertEqual(cluster["n2"].waitForExit(timeout: 90), 0)
        // The log pipe is read asynchronously: its last lines may arrive after the exit.
        XCTAssertTrue(cluster.waitUntil(5) { cluster["n2"].log.contains("leaving: every partition handed off") }, cluster["n2"].log)
        // n1 serves the partitions it gained once it has caught up on them.
        XCTAssertTrue(cluster.waitUntil(30) { (try? cluster.count(at: "n1", ""))?.json["record_count"] as? Int == 500 })
    }
}
