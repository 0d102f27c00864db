import EspyTestKit
import Foundation
import XCTest

/// Moving from the original server: its store (`json.dumps` of each profile with
/// `"server_time": "YYYY-MM-DD HH:MM:SS.ffffff"`) imported with `--keep-server-time` keeps its
/// history, on one node and on every replica of a cluster.
final class MigrationTests: XCTestCase {
    /// Lines as the original `line_dal` wrote them; the last two differ only in server_time.
    private let original = [
        #"{"python": {"version_info": [2, 7, 11, "final", 0]}, "uname": {"system": "Linux"}, "server_time": "2016-03-25 21:45:12.123456"}"#,
        #"{"python": {"version_info": [3, 5, 1, "final", 0]}, "uname": {"system": "Darwin"}, "server_time": "2016-07-01 08:00:00.000001"}"#,
        #"{"python": {"version_info": [3, 6, 0, "final", 0]}, "uname": {"system": "Linux"}, "server_time": "2017-02-03 10:11:12.131415"}"#,
        #"{"python": {"version_info": [3, 6, 0, "final", 0]}, "uname": {"system": "Linux"}, "server_time": "2017-02-04 10:11:12.131415"}"#,
    ]

    private func writeOriginalStore(in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("metrics_data.jsonl")
        try (original.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testImportWithKeepServerTimeKeepsTheHistory_distinctEventsStayDistinct_andAReimportStoresNothing() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let node = try NodeProcess(dataDirectory: directory.file("data"))
        let store = try writeOriginalStore(in: directory)
        let http = "127.0.0.1:\(node.httpPort)"

        let first = try runEspyMetrics(["import", "--keep-server-time", "--http", http, store])
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.output.contains("imported 4 records (4 new"), first.output)
        let again = try runEspyMetrics(["import", "--keep-server-time", "--http", http, store])
        XCTAssertTrue(again.output.contains("imported 4 records (0 new, 4 already stored)"), again.output)

        let before2017 = try node.request("GET", "/v1/count?until=2017-01-01").json()
        XCTAssertEqual(before2017?["record_count"] as? Int, 2, "the old events kept their time")
        let all = try node.request("GET", "/v1/count").json()
        XCTAssertEqual(all?["record_count"] as? Int, 4, "two events differing only in server_time are two records")
        let exported = try node.request("GET", "/v1/download/import").bodyText
        XCTAssertTrue(exported.contains(#"{"server_time":"2016-03-25T21:45:12.123456Z","python""#), exported)
        XCTAssertEqual(exported.components(separatedBy: "server_time").count - 1, 4, "one server_time per record")

        // Without the flag the time is the server's own, as for any client.
        let stamped = try runEspyMetrics(["import", "--http", http, store])
        XCTAssertTrue(stamped.output.contains("imported 4 records"), stamped.output)
        XCTAssertEqual(try node.request("GET", "/v1/count?until=2017-01-01").json()?["record_count"] as? Int, 2)
        XCTAssertEqual(try node.request("POST", "/v1/import?keep_server_time=maybe", body: Array(original[0].utf8)).status, 400)
    }

    func testImportedRecordsReachEveryReplicaUnderTheSameId() throws {
        let cluster = ClusterHarness()
        defer { cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0) }
        try cluster.startCluster(["n1", "n2", "n3"])
        let store = try writeOriginalStore(in: cluster.directory)
        let result = try runEspyMetrics(["import", "--keep-server-time", "--http", "127.0.0.1:\(cluster["n1"].httpPort)", store])
        XCTAssertEqual(result.status, 0, result.output)
        // One replica per datacenter, each holding the 4 records with the same digests: the
        // replicas stored the coordinator's ids, not ids of their own.
        var problems: [String] = []
        XCTAssertTrue(cluster.waitUntil(30) {
            problems = cluster.convergenceProblems(records: 4)
            return problems.isEmpty
        }, "\(problems)")
        XCTAssertEqual(try cluster.count(at: "n3", "until=2017-01-01").json["record_count"] as? Int, 2)
    }
}
