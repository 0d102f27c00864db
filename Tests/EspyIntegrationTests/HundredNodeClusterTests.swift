import EspyTestKit
import Foundation
import XCTest

/// A hundred real node processes on loopback: they form one cluster, stay calm while nothing
/// happens, and answer exact counts from any node. The design's 200 are measured by
/// bench/scale.sh; 100 debug builds are what a test on two cores can afford.
final class HundredNodeClusterTests: XCTestCase {
    private static let nodeCount = 100
    private var cluster: ClusterHarness!

    /// Failures said again after the nodes' logs, which would otherwise bury them.
    private var failures: [String] = []

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: !failures.isEmpty)
        for failure in failures { print("failed: " + failure) }
    }

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool) {
        failures.append("line \(lineNumber): \(description)")
        super.recordFailure(withDescription: description, inFile: filePath, atLine: lineNumber, expected: expected)
    }

    /// Each member `name` lists, with its status.
    private func statuses(seenBy name: String) -> [String: String] {
        let members = (try? cluster[name].request("GET", "/v1/cluster/members").json()?["members"] as? [[String: Any]]) ?? []
        return Dictionary(members.compactMap { member in
            (member["name"] as? String).map { ($0, member["status"] as? String ?? "?") }
        }, uniquingKeysWith: { first, _ in first })
    }

    /// Members `name` does not count as in the cluster: unlisted, failed or left. Suspicion is
    /// not among them: on a loaded machine a probe answered late makes a member suspect until
    /// it refutes, which is the protocol working; declaring it failed would not be.
    private func lostSight(by name: String, of names: [String]) -> [String] {
        let seen = statuses(seenBy: name)
        return names.filter { !["alive", "suspect"].contains(seen[$0] ?? "unlisted") }.map { "\($0) \(seen[$0] ?? "unlisted")" }
    }

    func testAHundredNodesForm_stayCalmForThirtySeconds_andCountExactlyFromAnyNode() throws {
        let names = (1...Self.nodeCount).map { "n\($0)" }
        let began = Date()
        for (index, name) in names.enumerated() { try cluster.start(name, datacenter: "dc\(index % 3 + 1)") }
        let started = Date()
        var lagging: [String] = names
        let formed = cluster.waitUntil(60) {
            lagging = lagging.filter { !lostSight(by: $0, of: names).isEmpty }
            return lagging.isEmpty
        }
        XCTAssertTrue(formed, "not every node lists all \(Self.nodeCount) in the cluster: "
                      + lagging.prefix(5).map { "\($0) lacks \(lostSight(by: $0, of: names).prefix(10))" }.joined(separator: "; "))
        print("[measure] \(Self.nodeCount) nodes started in \(Int(started.timeIntervalSince(began))) s; "
              + "all list \(Self.nodeCount) members \(String(format: "%.1f", Date().timeIntervalSince(started))) s after the last start")

        // Thirty quiet seconds: nobody is suspected into failure, nobody stops seeing anyone.
        Thread.sleep(forTimeInterval: 30)
        let declaringFailed = names.filter { cluster[$0].log.contains("member failed") }
        XCTAssertEqual(declaringFailed, [], "nodes that declared a live member failed")
        var suspected = 0
        for name in names.shuffled().prefix(10) {
            XCTAssertEqual(lostSight(by: name, of: names), [], "\(name) lost sight of members")
            suspected += statuses(seenBy: name).values.count { $0 == "suspect" }
        }
        print("[measure] 10 nodes asked after 30 quiet seconds listed \(suspected) suspect members in all")

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
