import EspyTestKit
import Foundation
import XCTest

/// `espymetrics import` when the node cannot store everything: what was acknowledged counts,
/// only the records a 503 names are retried (with backoff, a bounded number of times), and each
/// record left over is rejected with its own short reason.
final class CLIImportRetryTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUp() { directory = TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    private func writeInput(_ count: Int) throws -> (path: String, lines: [String]) {
        let lines = (0..<count).map { #"{"n":\#($0),"python":{"version_info":[3,12,1,"final",0]}}"# }
        let path = directory.file("input.ndjson")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return (path, lines)
    }

    /// The import answer of `V1API` for a batch: `failed` by position in the upload.
    private static func importAnswer(accepted: Int, rejected: [Int] = [], failed: [(Int, String)]) -> String {
        let rejections = rejected.map { #"{"index":\#($0),"line":\#($0 + 1),"error":"invalid record: expected a value at byte 7"}"# }
        let failures = failed.map { #"{"index":\#($0.0),"error":"\#($0.1)"}"# }
        return #"{"accepted":\#(accepted),"stored":\#(accepted),"duplicates":0,"rejected":[\#(rejections.joined(separator: ","))]"#
            + (failed.isEmpty ? "" : #","failed":[\#(failures.joined(separator: ","))]"#) + "}"
    }

    /// The outage of the issue: 20 lines, one invalid, 10 missing their quorum at first. The
    /// 9 acknowledged count; only the 10 are sent again; 8 of them get through on the retry;
    /// the 2 that never do are rejected each with its own reason, after 3 retries spaced by
    /// the backoff.
    func testA503RetriesOnlyTheRecordsItNamesAndCountsWhatWasAccepted() throws {
        let (input, lines) = try writeInput(20)
        let firstFailed = [0, 1, 5, 7, 9, 11, 13, 15, 17, 19]
        let lastFailed = [5, 19]
        let down = "1 of 2 required replicas committed; not committed on n3"
        let node = try CLIScriptedNode { request, index in
            switch index {
            case 0: return (503, Self.importAnswer(accepted: 9, rejected: [3], failed: firstFailed.map { ($0, down) }))
            case 1: return (503, Self.importAnswer(accepted: 8, failed: [(2, down), (9, "0 of 2 required replicas committed; not committed on n2, n3")]))
            default: return (503, Self.importAnswer(accepted: 0, failed: [(0, down), (1, "0 of 2 required replicas committed; not committed on n2, n3")]))
            }
        }
        defer { node.close() }

        let result = try runEspyMetrics(["import", input, "--http", node.http])

        XCTAssertEqual(result.status, 1, result.output)
        let requests = node.requests
        XCTAssertEqual(requests.count, 4, "one upload and three retries")
        XCTAssertEqual(requests[0].lines, lines)
        XCTAssertEqual(requests[1].lines, firstFailed.map { lines[$0] }, "the first retry carries exactly the records the 503 named")
        XCTAssertEqual(requests[2].lines, lastFailed.map { lines[$0] })
        XCTAssertEqual(requests[3].lines, lastFailed.map { lines[$0] })
        let gaps = zip(requests.dropFirst(), requests).map { $0.receivedAt.timeIntervalSince($1.receivedAt) }
        for (gap, expected) in zip(gaps, [0.5, 1.0, 2.0]) {
            XCTAssertGreaterThanOrEqual(gap, expected * 0.9, "retries back off: \(gaps)")
        }

        XCTAssertTrue(result.output.contains("imported 17 records (17 new, 0 already stored)"), result.output)
        XCTAssertTrue(result.output.contains("rejected 3 records"), result.output)
        XCTAssertTrue(result.output.contains("2 of them not stored by the node"), result.output)
        XCTAssertTrue(result.output.contains("line 4: invalid record: expected a value at byte 7"), result.output)
        XCTAssertTrue(result.output.contains("line 6: not stored after 4 attempts: \(down)"), result.output)
        XCTAssertTrue(result.output.contains("line 20: not stored after 4 attempts: 0 of 2 required replicas committed; not committed on n2, n3"),
                      result.output)
        for line in result.output.split(separator: "\n") where line.hasPrefix("  line ") {
            XCTAssertLessThan(line.count, 250, "a reason is one short line, not a response body: \(line)")
        }
        let rejects = try String(contentsOfFile: input + ".rejects.ndjson", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(Set(rejects), Set([lines[3], lines[5], lines[19]]))
    }

    /// A 503 without per-record results (the node at its connection limit, or shutting down)
    /// says nothing about any record: the whole batch is sent again, and counts once stored.
    func testA503WithoutRecordResultsRetriesTheWholeBatch() throws {
        let (input, lines) = try writeInput(5)
        let node = try CLIScriptedNode { _, index in
            index == 0 ? (503, #"{"error":"the node is shutting down"}"#) : (200, Self.importAnswer(accepted: 5, failed: []))
        }
        defer { node.close() }

        let result = try runEspyMetrics(["import", input, "--http", node.http])

        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(node.requests.map(\.lines), [lines, lines])
        XCTAssertTrue(result.output.contains("imported 5 records (5 new, 0 already stored)"), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: input + ".rejects.ndjson"))
    }

    /// A 4xx for the whole batch is about the request, which a retry would only repeat.
    func testABatchTheNodeRefusesIsRejectedAtOnceWithTheNodesReason() throws {
        let (input, _) = try writeInput(3)
        let node = try CLIScriptedNode { _, _ in (413, #"{"error":"body exceeds http.max_body_bytes (33554432)"}"#) }
        defer { node.close() }

        let result = try runEspyMetrics(["import", input, "--http", node.http])

        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertEqual(node.requests.count, 1)
        XCTAssertTrue(result.output.contains("line 1: the node answered 413: body exceeds http.max_body_bytes (33554432)"), result.output)
        XCTAssertTrue(result.output.contains("imported 0 records"), result.output)
    }

    /// The same against real nodes: n1 in dc1, n2 and n3 in dc2, every write needing both of
    /// its replicas (`write_quorum = "all"`), n3 stopped. Records of n3's partitions cannot be
    /// acknowledged, the others can: the import counts those, and rejects the rest each with
    /// the node's reason naming n3.
    func testImportDuringAnOutageCountsWhatTheClusterAcknowledged() throws {
        let cluster = ClusterHarness()
        defer { cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0) }
        let config = "[cluster]\nwrite_quorum = \"all\"\n"
        try cluster.start("n1", datacenter: "dc1", config: config)
        try cluster.start("n2", datacenter: "dc2", config: config)
        try cluster.start("n3", datacenter: "dc2", config: config)
        for name in ["n1", "n2", "n3"] {
            XCTAssertTrue(cluster.waitUntil(30) { cluster.alive(seenBy: name) == ["n1", "n2", "n3"] }, "cluster did not form at \(name)")
        }
        // Placement settles a moment after membership (changes are coalesced): until n2 places
        // n3 it owns all of dc2 and repair would copy n3's records to it as well.
        XCTAssertTrue(cluster.waitUntil(30) {
            Set(["n1", "n2", "n3"].map { (try? cluster.partitions(of: $0)["view_digest"] as? String) ?? nil }).count == 1
                && ((try? cluster.partitions(of: "n2")["owned"] as? [String: Int])?["n3"] ?? 0) > 0
        }, "placement did not settle")
        cluster["n3"].signal(SIGINT)
        XCTAssertEqual(cluster["n3"].waitForExit(), 0)

        let (input, lines) = try writeInput(20)
        let result = try runEspyMetrics(["import", input, "--http", "127.0.0.1:\(cluster["n1"].httpPort)"])

        XCTAssertEqual(result.status, 1, result.output)
        // n2 holds exactly the records acknowledged (n1 holds every record it was sent).
        let acknowledged = try XCTUnwrap(try cluster["n2"].request("GET", "/v1/health").json()?["records"] as? Int)
        XCTAssertGreaterThan(acknowledged, 0, result.output)
        XCTAssertLessThan(acknowledged, 20, result.output)
        XCTAssertTrue(result.output.contains("imported \(acknowledged) records"), result.output)
        XCTAssertTrue(result.output.contains("rejected \(20 - acknowledged) records"), result.output)
        let reasons = result.output.split(separator: "\n").filter { $0.hasPrefix("  line ") }
        XCTAssertFalse(reasons.isEmpty, result.output)
        for reason in reasons {
            XCTAssertTrue(reason.contains("not stored after 4 attempts") && reason.contains("n3"), String(reason))
            XCTAssertLessThan(reason.count, 250, String(reason))
        }
        let rejects = try String(contentsOfFile: input + ".rejects.ndjson", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rejects.count, 20 - acknowledged)
        XCTAssertTrue(rejects.allSatisfy { lines.contains(String($0)) })
    }
}
