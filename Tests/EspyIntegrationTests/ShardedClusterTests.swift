import EspyTestKit
import Foundation
import XCTest

/// Six real nodes in three datacenters on loopback: records routed to their three replicas,
/// counts exact from every node, failures answered by the other replicas or reported.
final class ShardedClusterTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var nodes: [String: NodeProcess] = [:]
    private let names = ["n1", "n2", "n3", "n4", "n5", "n6"]

    override func setUp() { directory = TemporaryDirectory() }

    override func tearDown() {
        if (testRun?.failureCount ?? 0) > 0 {
            for (name, node) in nodes.sorted(by: { $0.key < $1.key }) {
                let notable = node.log.split(separator: "\n").filter {
                    !$0.contains("http/path=") && ($0.contains(" warning ") || $0.contains(" error ") || $0.contains("cluster/"))
                }
                print("warnings and errors of \(name):\n" + notable.joined(separator: "\n"))
            }
        }
        for node in nodes.values { node.terminateHard() }
        directory.remove()
    }

    /// n1…n6 in dc1, dc2, dc3, dc1, dc2, dc3, all joined through n1, waited for until every
    /// node sees all six alive.
    private func startCluster() throws {
        for (index, name) in names.enumerated() {
            var arguments = ["--datacenter", "dc\(index % 3 + 1)"]
            if let seed = nodes["n1"] { arguments += ["--join", "127.0.0.1:\(seed.gossipPort)"] }
            nodes[name] = try NodeProcess(dataDirectory: directory.file(name), name: name, extraArguments: arguments)
        }
        for node in nodes.values {
            XCTAssertTrue(waitUntil(20) { alive(seenBy: node) == Set(names) }, "cluster did not form")
        }
    }

    private func alive(seenBy node: NodeProcess) -> Set<String> {
        guard let members = try? node.request("GET", "/v1/cluster/members").json()?["members"] as? [[String: Any]] else { return [] }
        return Set(members.filter { $0["status"] as? String == "alive" }.compactMap { $0["name"] as? String })
    }

    private func waitUntil(_ seconds: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    private func count(_ node: NodeProcess, _ query: String) throws -> [String: Any] {
        let response = try node.request("GET", "/v1/count?" + query)
        XCTAssertEqual(response.status, 200, response.bodyText)
        return try XCTUnwrap(response.json())
    }

    func testRecordsLandOnTheirReplicasAndEveryNodeCountsExactly() throws {
        try startCluster()
        var generator = ProfileGenerator(seed: 2026)
        let profiles = (0..<50_000).map { generator.profile(index: $0) }
        for batch in stride(from: 0, to: profiles.count, by: 2_500) {
            let body = profiles[batch..<(batch + 2_500)].map(\.json).joined(separator: "\n")
            let answer = try XCTUnwrap(try nodes["n2"]!.request("POST", "/v1/import", body: Array(body.utf8)).json())
            XCTAssertEqual(answer["accepted"] as? Int, 2_500, "\(answer)")
        }

        // Each record is on exactly one node of each datacenter: three copies in all. A batch
        // is acknowledged at its write quorum (2 of 3), so the last batch's third copies may
        // still be landing: wait for them.
        var stored: [String: Int] = [:]
        _ = waitUntil(15) {
            for name in names { stored[name] = (try? nodes[name]!.request("GET", "/v1/health").json()?["records"] as? Int) ?? 0 }
            return stored.values.reduce(0, +) >= 150_000
        }
        XCTAssertEqual(stored["n1"]! + stored["n4"]!, 50_000, "\(stored)")
        XCTAssertEqual(stored["n2"]! + stored["n5"]!, 50_000, "\(stored)")
        XCTAssertEqual(stored["n3"]! + stored["n6"]!, 50_000, "\(stored)")
        XCTAssertTrue(stored.values.allSatisfy { $0 > 15_000 }, "placement is lopsided: \(stored)")

        let byMajor = Dictionary(grouping: profiles, by: { String($0.major) }).mapValues(\.count)
        let byRelease = Dictionary(grouping: profiles, by: \.release).mapValues(\.count)
        for name in names {
            let node = nodes[name]!
            let major = try count(node, "group_by=python$version_info$0")
            XCTAssertEqual(major["counts"] as? [String: Int], byMajor, "at \(name)")
            XCTAssertEqual(major["record_count"] as? Int, 50_000)
            let coverage = try XCTUnwrap(major["coverage"] as? [String: Any])
            XCTAssertEqual(coverage["partial"] as? Bool, false)
            XCTAssertEqual((coverage["partitions"] as? [String: Int])?["answered"], 4096)
            XCTAssertEqual(try count(node, "group_by=uname.release")["counts"] as? [String: Int], byRelease, "at \(name)")
            XCTAssertEqual(try count(node, "")["record_count"] as? Int, 50_000)
        }
        // limit=N is the global newest N: identical from every node, and N records in all.
        let newestFromN1 = try count(nodes["n1"]!, "group_by=uname.system&limit=777")
        XCTAssertEqual(newestFromN1["record_count"] as? Int, 777)
        for name in names.dropFirst() {
            XCTAssertEqual(try count(nodes[name]!, "group_by=uname.system&limit=777")["counts"] as? [String: Int],
                           newestFromN1["counts"] as? [String: Int], "at \(name)")
        }
        // Download streams every record exactly once, whichever node is asked.
        let lines = try nodes["n6"]!.request("GET", "/v1/download/import").bodyText.split(separator: "\n")
        XCTAssertEqual(lines.count, 50_000)

        // kill -9 one node: its partitions are answered by other replicas, still exactly.
        nodes["n4"]!.terminateHard()
        XCTAssertTrue(waitUntil(25) { !alive(seenBy: nodes["n1"]!).contains("n4") }, "n4 not noticed")
        let afterKill = try count(nodes["n1"]!, "group_by=python$version_info$0")
        XCTAssertEqual(afterKill["counts"] as? [String: Int], byMajor)

        // Kill every replica of some partitions (n1, n2, n3 hold one copy each of the partitions
        // whose dc1, dc2 and dc3 owners they are): 503 by default, a flagged partial answer on request.
        for name in ["n2", "n3"] { nodes[name]!.terminateHard() }
        XCTAssertTrue(waitUntil(25) { alive(seenBy: nodes["n5"]!) == ["n1", "n5", "n6"] }, "failures not noticed")
        nodes["n1"]!.terminateHard()
        let strict = try nodes["n5"]!.request("GET", "/v1/count?group_by=python$version_info$0")
        XCTAssertEqual(strict.status, 503, strict.bodyText)
        XCTAssertFalse((strict.json()?["missing_partitions"] as? [Int] ?? []).isEmpty)
        let partial = try count(nodes["n5"]!, "group_by=python$version_info$0&allow_partial=true")
        let partialCoverage = try XCTUnwrap(partial["coverage"] as? [String: Any])
        XCTAssertEqual(partialCoverage["partial"] as? Bool, true)
        XCTAssertLessThan(partial["record_count"] as? Int ?? .max, 50_000)
        XCTAssertFalse((partialCoverage["nodes"] as? [String: Any])?["failed"] as? [String] == [])
    }

    func testWritesNeedAQuorumAndRetriesAfterRecoveryStoreOnce() throws {
        try startCluster()
        // Restarted nodes keep their gossip address: memberlist does not let a dead member
        // come back from a new address (dead-node reclaim is off, as in Serf).
        let gossipAddresses = ["n5": "127.0.0.1:\(nodes["n5"]!.gossipPort)", "n6": "127.0.0.1:\(nodes["n6"]!.gossipPort)"]
        // One node down: every record still reaches 2 of its 3 replicas.
        nodes["n6"]!.terminateHard()
        XCTAssertTrue(waitUntil(25) { !alive(seenBy: nodes["n1"]!).contains("n6") })
        var generator = ProfileGenerator(seed: 7)
        let first = (0..<2_000).map { generator.profile(index: $0).json }.joined(separator: "\n")
        let answer = try nodes["n1"]!.request("POST", "/v1/import", body: Array(first.utf8))
        XCTAssertEqual(answer.status, 200, answer.bodyText)
        XCTAssertEqual(answer.json()?["accepted"] as? Int, 2_000)

        // Two of three down for some records: those are refused (503, named), the rest stored.
        nodes["n5"]!.terminateHard()
        XCTAssertTrue(waitUntil(25) { !alive(seenBy: nodes["n1"]!).contains("n5") })
        let second = (2_000..<4_000).map { generator.profile(index: $0).json }.joined(separator: "\n")
        let refused = try nodes["n1"]!.request("POST", "/v1/import", body: Array(second.utf8))
        XCTAssertEqual(refused.status, 503, String(refused.bodyText.prefix(500)))
        let failed = try XCTUnwrap(refused.json()?["failed"] as? [[String: Any]])
        XCTAssertFalse(failed.isEmpty)
        XCTAssertEqual((refused.json()?["accepted"] as? Int ?? 0) + failed.count, 2_000)

        // Bring both back (same names, same data), retry the whole batch: every record once.
        for (name, datacenter) in [("n5", "dc2"), ("n6", "dc3")] {
            nodes[name] = try NodeProcess(dataDirectory: directory.file(name), name: name, gossip: gossipAddresses[name]!,
                                          extraArguments: ["--datacenter", datacenter, "--join", "127.0.0.1:\(nodes["n1"]!.gossipPort)"])
        }
        XCTAssertTrue(waitUntil(25) { alive(seenBy: nodes["n1"]!) == Set(names) }, "restarted nodes not alive")
        let retried = try nodes["n1"]!.request("POST", "/v1/import", body: Array(second.utf8))
        XCTAssertEqual(retried.status, 200, String(retried.bodyText.prefix(500)))
        // dc1's replicas (n1, n4) were up throughout, and queries prefer the asking node's
        // datacenter: these counts must be exact, with nothing stored twice. (n5 and n6 missed the
        // writes made while they were down; bringing them back in step is the repair work.)
        XCTAssertEqual(try count(nodes["n1"]!, "")["record_count"] as? Int, 4_000)
        XCTAssertEqual(try count(nodes["n4"]!, "")["record_count"] as? Int, 4_000)
        let dc1Copies = try ["n1", "n4"].map { try nodes[$0]!.request("GET", "/v1/health").json()?["records"] as? Int ?? 0 }
        XCTAssertEqual(dc1Copies.reduce(0, +), 4_000, "dc1 holds exactly one copy of each record")
    }
}
