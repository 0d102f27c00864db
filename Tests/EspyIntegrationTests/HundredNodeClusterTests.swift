import EspyTestKit
import Foundation
import XCTest

/// A hundred real node processes on loopback: they form one cluster, stay calm while nothing
/// happens, and answer exact counts from any node. The design's 200 are measured by
/// bench/scale.sh; 100 debug builds are what a test on two cores can afford.
final class HundredNodeClusterTests: XCTestCase {
    private static let nodeCount = 100
    private var cluster: ClusterHarness!

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0)
    }

    func testAHundredNodesForm_stayCalmForThirtySeconds_andCountExactlyFromAnyNode() throws {
        let names = (1...Self.nodeCount).map { "n\($0)" }
        let began = Date()
        for (index, name) in names.enumerated() { try cluster.start(name, datacenter: "dc\(index % 3 + 1)") }
        let started = Date()
        var lagging: [String] = names
        let formed = cluster.waitUntil(60) {
            lagging = lagging.filter { cluster.alive(seenBy: $0).count < Self.nodeCount }
            return lagging.isEmpty
        }
        XCTAssertTrue(formed, "still not seeing all \(Self.nodeCount) alive: \(lagging.prefix(10))")
        print("[measure] \(Self.nodeCount) nodes started in \(Int(started.timeIntervalSince(began))) s; "
              + "all list \(Self.nodeCount) alive \(String(format: "%.1f", Date().timeIntervalSince(started))) s after the last start")

        // Thirty quiet seconds: nobody is suspected into failure, nobody stops seeing anyone.
        Thread.sleep(forTimeInterval: 30)
        let failures = names.filter { cluster[$0].log.contains("member failed") }
        XCTAssertEqual(failures, [], "nodes that declared a live member failed")
        for name in names.shuffled().prefix(10) {
            XCTAssertEqual(cluster.alive(seenBy: name).count, Self.nodeCount, "\(name) lost sight of a member")
        }

        var generator = ProfileGenerator(seed: 65)
        let profiles = (0..<6_000).map { generator.profile(index: $0) }
        try cluster.ingest(profiles[...], through: "n17")
        let truth = Dictionary(grouping: profiles, by: { String($0.major) }).mapValues(\.count)
        for name in ["n42", "n99"] {
            var last: [String: Any] = [:]
            let exact = cluster.waitUntil(30) {
                guard let (status, json) = try? cluster.count(at: name, "group_by=python$version_info$0") else { return false }
                last = json
                return status == 200 && json["counts"] as? [String: Int] == truth && json["record_count"] as? Int == profiles.count
            }
            XCTAssertTrue(exact, "count at \(name) is not exact: \(last)")
        }
    }
}
