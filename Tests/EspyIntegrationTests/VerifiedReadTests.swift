import EspyTestKit
import Foundation
import XCTest

/// `read_consistency=verified` closes the window `one` leaves open: a batch is acknowledged
/// once two of its three replicas hold it, and a count that reads the third right then is short
/// while it says complete. Verified counts compare replicas' digests first and repair on read.
final class VerifiedReadTests: XCTestCase {
    private var cluster: ClusterHarness!

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0)
    }

    private func coverage(_ json: [String: Any]) -> [String: Any] { json["coverage"] as? [String: Any] ?? [:] }

    /// Verified reads prove completeness for the placement the asking node knows; a node that
    /// has not applied a membership change yet knows other replicas than the writer.
    private func placementAgrees(_ names: [String]) -> Bool {
        let views = names.compactMap { try? cluster.partitions(of: $0) }
        return views.count == names.count && Set(views.compactMap { $0["view_digest"] as? String }).count == 1
            && views.allSatisfy { Set(($0["owned"] as? [String: Int] ?? [:]).keys) == Set(names) }
    }

    func testACountRightAfterEachAcknowledgedBatch_isExactEverywhere() throws {
        try cluster.startCluster(["n1", "n2", "n3"])
        XCTAssertTrue(cluster.waitUntil(30) { placementAgrees(["n1", "n2", "n3"]) }, "placement did not settle")
        let profiles = ProfileGenerator.profiles(12_000, seed: 91)
        for (batch, end) in stride(from: 1_000, through: profiles.count, by: 1_000).enumerated() {
            try cluster.ingest(profiles[(end - 1_000)..<end], through: batch % 2 == 0 ? "n1" : "n3", batch: 1_000)
            for name in ["n2", "n3", "n1"] {
                let (status, json) = try cluster.count(at: name, "read_consistency=verified")
                XCTAssertEqual(status, 200, "at \(name): \(json)")
                XCTAssertEqual(json["record_count"] as? Int, end, "at \(name), just after batch \(batch) was acknowledged: \(coverage(json))")
                XCTAssertEqual(coverage(json)["partial"] as? Bool, false)
                XCTAssertEqual(coverage(json)["read_consistency"] as? String, "verified")
            }
        }
        let export = try cluster["n2"].request("GET", "/v1/download/import?read_consistency=verified", timeout: 60)
        XCTAssertEqual(export.status, 200)
        XCTAssertEqual(export.bodyText.split(separator: "\n").count, profiles.count)
    }

    func testAReplicaHoldingRecordsTheOthersMissed_isFoundByItsDigest_readFirst_andTheOthersAreGivenThem() throws {
        // Anti-entropy far away: only the verified read can notice the difference.
        try cluster.startCluster(["n1", "n2", "n3"], config: "[repair]\ninterval_ms = 600000\n")
        try cluster.ingest(ProfileGenerator.profiles(2_000, seed: 92)[...], through: "n2")
        // Caught up first: n2 then reads every partition from itself, and no catching up pulls
        // in the records placed on n1 below.
        XCTAssertTrue(cluster.waitUntil(30) {
            let handoff = (try? cluster.partitions(of: "n2"))?["handoff"] as? [String: Any]
            return (handoff?["catching_up"] as? [String: Any])?["partitions"] as? Int == 0
        }, "n2 did not catch up")
        // Records on n1 alone, as a write acknowledged by `one` replica leaves them until the
        // others hear of it.
        let onlyOnN1 = ProfileGenerator.profiles(300, seed: 93).map {
            "{\"server_time\":\"2026-12-02T09:00:00Z\"," + $0.json.dropFirst()
        }.joined(separator: "\n")
        let stored = try cluster.internalRequest("n1", "POST", "/internal/v1/records", body: Array(onlyOnN1.utf8),
                                               contentType: "application/x-ndjson")
        XCTAssertEqual(stored.status, 200, stored.bodyText)

        let (_, trusting) = try cluster.count(at: "n2", "")
        XCTAssertEqual(trusting["record_count"] as? Int, 2_000, "n2 reads its own replica under `one`")
        XCTAssertEqual(coverage(trusting)["read_consistency"] as? String, "one")

        let (status, verified) = try cluster.count(at: "n2", "read_consistency=verified")
        XCTAssertEqual(status, 200, "\(verified)")
        XCTAssertEqual(verified["record_count"] as? Int, 2_300)
        let repaired = (coverage(verified)["partitions"] as? [String: Any])?["repaired"] as? Int ?? 0
        XCTAssertGreaterThan(repaired, 0, "\(coverage(verified))")

        // After the read, n1 hands what it held alone to the other replicas.
        XCTAssertTrue(cluster.waitUntil(30) { cluster.convergenceProblems(records: 2_300).isEmpty },
                      "\(cluster.convergenceProblems(records: 2_300).prefix(5))")
        let (_, again) = try cluster.count(at: "n3", "read_consistency=verified")
        XCTAssertEqual(again["record_count"] as? Int, 2_300)
        XCTAssertEqual((coverage(again)["partitions"] as? [String: Any])?["repaired"] as? Int, 0, "replicas agree now")
        let metrics = try cluster["n2"].request("GET", "/metrics").bodyText
        XCTAssertTrue(metrics.contains("espymetrics_cluster_read_repairs_total \(repaired)"), "\(metrics.split(separator: "\n").filter { $0.contains("read_repairs") })")
    }

    func testAStoppedReplica_leavesTwoToCompare_andWithTwoStoppedNothingIsClaimedComplete() throws {
        try cluster.startCluster(["n1", "n2", "n3"])
        try cluster.ingest(ProfileGenerator.profiles(1_500, seed: 94)[...], through: "n1")
        cluster["n3"].signal(SIGSTOP)
        defer { cluster["n3"].signal(SIGCONT) }
        let (status, json) = try cluster.count(at: "n1", "read_consistency=verified")
        XCTAssertEqual(status, 200, "\(json)")
        XCTAssertEqual(json["record_count"] as? Int, 1_500)

        cluster["n2"].signal(SIGSTOP)
        defer { cluster["n2"].signal(SIGCONT) }
        let (alone, refusal) = try cluster.count(at: "n1", "read_consistency=verified")
        XCTAssertEqual(alone, 503, "one replica's digest proves nothing: \(refusal)")
        let (_, partial) = try cluster.count(at: "n1", "read_consistency=verified&allow_partial=true")
        XCTAssertEqual(coverage(partial)["partial"] as? Bool, true, "\(partial)")
    }

    func testAnUnknownReadConsistencyOrABadPullIsRefused_andTheConfigDefaultApplies() throws {
        try cluster.startCluster(["n1", "n2", "n3"], config: "[cluster]\nread_consistency = \"verified\"\n")
        for path in ["/v1/count?read_consistency=quorum", "/v1/download/import?read_consistency=all"] {
            let response = try cluster["n1"].request("GET", path)
            XCTAssertEqual(response.status, 400, path)
            XCTAssertTrue(response.bodyText.contains("'read_consistency'"), response.bodyText)
        }
        for body in ["", "4096 n2", "7", "x n2", "7 "] {
            let pull = try cluster.internalRequest("n1", "POST", "/internal/v1/repair/pull", body: Array(body.utf8))
            XCTAssertEqual(pull.status, 400, "'\(body)': \(pull.bodyText)")
        }
        let unknownPeer = try cluster.internalRequest("n1", "POST", "/internal/v1/repair/pull", body: Array("7 nobody\n".utf8))
        XCTAssertEqual(unknownPeer.status, 503, "a pull from a member it cannot reach fails: \(unknownPeer.bodyText)")
        try cluster.ingest(ProfileGenerator.profiles(500, seed: 95)[...], through: "n1")
        let (_, json) = try cluster.count(at: "n2", "")
        XCTAssertEqual(coverage(json)["read_consistency"] as? String, "verified")
        XCTAssertEqual(json["record_count"] as? Int, 500)
        let (_, trusting) = try cluster.count(at: "n2", "read_consistency=one")
        XCTAssertEqual(coverage(trusting)["read_consistency"] as? String, "one")
    }
}
