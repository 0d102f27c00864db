import EspyTestKit
import Foundation
import XCTest

/// A node stores replica records only for partitions it is a replica of in its own view of the
/// placement; anything else would be counted toward a write quorum on a node that drops it,
/// and spread by repair to the owners as if it had been written there.
final class MisdirectedRecordTests: XCTestCase {
    private var cluster: ClusterHarness!

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0)
    }

    /// A stored-record line whose id puts it in `partition`: an id's first 8 bytes, read as a
    /// big-endian number, modulo the partition count.
    private func storedLine(partition: Int, value: Int) -> String {
        String(format: "%016llx", partition) + String(format: "%016llx", value)
            + #" {"server_time": "2026-12-01T10:00:00Z", "value": \#(value)}"#
    }

    /// The partitions `node` declines to be read for; once it has caught up, those it does not own.
    private func declined(by node: String) throws -> Set<Int> {
        let all = (0..<ClusterHarness.partitionCount).map(String.init).joined(separator: ",")
        let response = try cluster.internalRequest(node, "POST", "/internal/v1/count", body: Array(("partitions=" + all).utf8),
                                                   contentType: "application/x-www-form-urlencoded")
        XCTAssertEqual(response.status, 200, response.bodyText)
        return Set((response.headers["x-espy-unavailable"] ?? "").split(separator: ",").compactMap { Int($0) })
    }

    private func held(by node: String, partition: Int) throws -> Int? {
        let response = try cluster.internalRequest(node, "POST", "/internal/v1/count", body: Array("partitions=\(partition)".utf8),
                                                   contentType: "application/x-www-form-urlencoded")
        return response.json()?["record_count"] as? Int
    }

    func testRecordsOfAPartitionTheNodeIsNoReplicaOfAreRefusedWith421_andNothingOfTheirBatchIsStored() throws {
        // dc1 holds n1 and n4, so each of dc1's replicas is on one of them.
        try cluster.startCluster(["n1", "n2", "n3", "n4"])
        XCTAssertTrue(cluster.waitUntil(60) {
            (try? cluster.partitions(of: "n4")["handoff"] as? [String: Any])
                .flatMap { ($0["catching_up"] as? [String: Any])?["partitions"] as? Int } == 0
        }, "n4 did not catch up")
        let notOwned = try declined(by: "n4")
        XCTAssertGreaterThan(notOwned.count, 1_000, "n4 should share dc1's partitions with n1")
        XCTAssertLessThan(notOwned.count, 3_096)
        let foreign = try XCTUnwrap(notOwned.min())
        let own = try XCTUnwrap((0..<ClusterHarness.partitionCount).first { !notOwned.contains($0) })

        let mixed = storedLine(partition: own, value: 1) + "\n" + storedLine(partition: foreign, value: 2) + "\n"
        let refused = try cluster.internalRequest("n4", "POST", "/internal/v1/records", body: Array(mixed.utf8))
        XCTAssertEqual(refused.status, 421, refused.bodyText)
        XCTAssertEqual(refused.headers["x-espy-unavailable"], "\(foreign)")
        XCTAssertTrue(refused.bodyText.contains("not a replica of 1 of the batch's partitions (\(foreign))"), refused.bodyText)
        XCTAssertEqual(try held(by: "n4", partition: own), 0, "part of a refused batch was stored")
        XCTAssertEqual(try held(by: "n4", partition: foreign), 0)

        let owned = try cluster.internalRequest("n4", "POST", "/internal/v1/records", body: Array(storedLine(partition: own, value: 1).utf8))
        XCTAssertEqual(owned.status, 200, owned.bodyText)
        XCTAssertEqual(owned.json()?["stored"] as? Int, 1)
        XCTAssertEqual(try held(by: "n4", partition: own), 1)

        // Placed by another view (a coordinator that saw a membership change first, or last):
        // kept, since n4 may be the one behind.
        let otherView = try cluster.internalRequest("n4", "POST", "/internal/v1/records", body: Array(mixed.utf8),
                                                    headers: [("X-Espy-Placement", "0000000000000000")])
        XCTAssertEqual(otherView.status, 200, otherView.bodyText)
        XCTAssertEqual(otherView.json()?["new"] as? String, "01", "the foreign record was not stored")
        let sameView = try XCTUnwrap(cluster.partitions(of: "n4")["view_digest"] as? String)
        let refusedAgain = try cluster.internalRequest("n4", "POST", "/internal/v1/records", body: Array(storedLine(partition: foreign, value: 3).utf8),
                                                       headers: [("X-Espy-Placement", sameView)])
        XCTAssertEqual(refusedAgain.status, 421, refusedAgain.bodyText)
    }
}
