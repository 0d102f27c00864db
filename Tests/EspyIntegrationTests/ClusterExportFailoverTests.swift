import EspyTestKit
import Foundation
import XCTest

/// `GET /v1/download/import` through one node of six while the peer it is reading is killed: the
/// download completes with every record exactly once, that peer's partitions read from other
/// replicas from the cursors it had reached (`ScatterGather`'s paged driver, on real processes).
final class ClusterExportFailoverTests: XCTestCase {
    private var cluster: ClusterHarness!

    override func setUp() { cluster = ClusterHarness() }
    override func tearDown() { cluster?.tearDown(failed: (testRun?.failureCount ?? 0) > 0) }

    func testThePeerBeingReadKilledMidDownload_everyRecordOnce_andTheDownloadCompletes() throws {
        let names = ["n1", "n2", "n3", "n4", "n5", "n6"]
        try cluster.startCluster(names)
        let profiles = ProfileGenerator.profiles(40_000, seed: 91)
        try cluster.ingest(profiles[...], through: "n1")

        // A client that stops reading: the export pulls a page only when the last one was
        // taken, so once the socket buffers are full it stands still inside some peer's share.
        let client = try RawHTTPClient(port: cluster["n1"].httpPort, receiveTimeout: 60)
        try client.send("GET /v1/download/import HTTP/1.1\r\nHost: n1\r\nConnection: close\r\n\r\n")
        let peers = ["n2", "n3", "n4", "n5", "n6"]
        var received: [UInt8] = []
        var reading: String?
        for _ in 0..<200 where reading == nil {
            let target = received.count + 500_000
            while received.count < target, let chunk = client.receive() { received += chunk }
            Thread.sleep(forTimeInterval: 1)  // the access log is flushed every 50 ms
            reading = peers.last { cluster[$0].log.contains("/internal/v1/export") }
        }
        // The peer being read dies mid-read: its partitions continue elsewhere from their cursors.
        let killed = try XCTUnwrap(reading, "no peer was read")
        cluster[killed].signal(SIGKILL)
        while let chunk = client.receive() { received += chunk }

        let response = try XCTUnwrap(RawHTTPResponse.parse(received)?.0, "the download ended without its last chunk")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["transfer-encoding"], "chunked")
        let lines = response.bodyText.split(separator: "\n")
        XCTAssertEqual(lines.count, profiles.count, "records in the download")
        XCTAssertEqual(Set(lines).count, lines.count, "a record came twice")
    }
}
