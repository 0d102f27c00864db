import EspyTestKit
import Foundation
import XCTest

/// Real node processes gossiping on loopback, and a stock Serf agent among them.
final class GossipClusterTests: XCTestCase {
    var directory: TemporaryDirectory!
    var nodes: [String: NodeProcess] = [:]

    override func setUp() { directory = TemporaryDirectory() }

    override func tearDown() {
        if (testRun?.failureCount ?? 0) > 0 {
            for (name, node) in nodes.sorted(by: { $0.key < $1.key }) { print("log of \(name):\n\(node.log)") }
        }
        for node in nodes.values { node.terminateHard() }
        directory.remove()
    }

    @discardableResult
    func start(_ name: String, datacenter: String, join: NodeProcess? = nil, gossip: String = "127.0.0.1:0",
                       encryptKey: String? = nil) throws -> NodeProcess {
        var arguments = ["--datacenter", datacenter]
        if let encryptKey { arguments += ["--encrypt", encryptKey] }
        if let join { arguments += ["--join", "127.0.0.1:\(join.gossipPort)"] }
        let node = try NodeProcess(dataDirectory: directory.file(name), name: name, gossip: gossip, extraArguments: arguments)
        nodes[name] = node
        return node
    }

    /// name → member JSON, as `node` sees the cluster.
    func members(seenBy node: NodeProcess) -> [String: [String: Any]] {
        guard let answer = try? node.request("GET", "/v1/cluster/members").json(),
              let list = answer["members"] as? [[String: Any]] else { return [:] }
        return Dictionary(uniqueKeysWithValues: list.compactMap { member in (member["name"] as? String).map { ($0, member) } })
    }

    private func waitUntil(_ seconds: TimeInterval, _ condition: () throws -> Bool) rethrows -> TimeInterval? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if try condition() { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return nil
    }

    func testThreeNodesFormAClusterDetectAKilledNodeAndTakeItBackWithAHigherIncarnation() throws {
        let n1 = try start("n1", datacenter: "dc1")
        let n2 = try start("n2", datacenter: "dc2", join: n1)
        let n3 = try start("n3", datacenter: "dc3", join: n1)
        let all = Set(["n1", "n2", "n3"])
        for node in [n1, n2, n3] {
            XCTAssertNotNil(waitUntil(15) {
                let view = members(seenBy: node)
                return Set(view.keys) == all && view.values.allSatisfy { $0["status"] as? String == "alive" }
            }, "cluster did not form")
        }
        let seen = members(seenBy: n2)["n3"]
        XCTAssertEqual(seen?["datacenter"] as? String, "dc3")
        XCTAssertEqual(seen?["http"] as? String, "127.0.0.1:\(n3.httpPort)")
        let counts = try XCTUnwrap(try n1.request("GET", "/v1/cluster/members").json()?["datacenters"] as? [String: [String: Int]])
        XCTAssertEqual(counts["dc3"]?["alive"], 1)
        let incarnationBefore = members(seenBy: n1)["n3"]?["incarnation"] as? Int ?? 0

        // kill -9: no leave message; the survivors must find out by probing. With 3 members the
        // Lifeguard suspicion timeout is at most 6 × 4 × log10(3) × 1 s ≈ 11.5 s after the
        // failed probe; allow 20 s.
        let gossipAddress = "127.0.0.1:\(n3.gossipPort)"
        n3.terminateHard()
        for survivor in [n1, n2] {
            let detected = waitUntil(20) { members(seenBy: survivor)["n3"]?["status"] as? String == "dead" }
            XCTAssertNotNil(detected, "n3 not marked dead")
            print("n3 marked dead after \(detected ?? -1) s")
        }

        // Restarted with the same name and address, it refutes its death with a higher incarnation.
        try start("n3", datacenter: "dc3", join: n1, gossip: gossipAddress)
        for survivor in [n1, n2] {
            XCTAssertNotNil(waitUntil(15) {
                let member = members(seenBy: survivor)["n3"]
                return member?["status"] as? String == "alive" && (member?["incarnation"] as? Int ?? 0) > incarnationBefore
            }, "n3 did not come back alive with a higher incarnation")
        }
    }

    func testSerfAgentJoinsOurClusterSeesOurTagsAndOurGracefulLeave() throws {
        XCTAssertTrue(SerfAgent.isInstalled, "serf is not installed; run deploy/install-debian-packages.sh")
        guard SerfAgent.isInstalled else { return }
        let n1 = try start("n1", datacenter: "dc1")
        let n2 = try start("n2", datacenter: "dc2", join: n1)
        let serf = try SerfAgent(name: "serf1", tags: ["role": "serf"])
        let join = try serf.command(["join", "127.0.0.1:\(n1.gossipPort)"])
        XCTAssertEqual(join.status, 0, join.output)

        XCTAssertNotNil(try waitUntil(15) {
            let view = try serf.members()
            return view["n1"]?.status == "alive" && view["n2"]?.status == "alive"
        }, "serf does not list our nodes alive")
        let n1AsSerfSeesIt = try XCTUnwrap(try serf.members()["n1"])
        XCTAssertEqual(n1AsSerfSeesIt.tags["dc"], "dc1")
        XCTAssertEqual(n1AsSerfSeesIt.tags["role"], "espymetrics")
        XCTAssertEqual(n1AsSerfSeesIt.tags["http"], "127.0.0.1:\(n1.httpPort)")
        XCTAssertNotNil(waitUntil(15) { members(seenBy: n2)["serf1"]?["status"] as? String == "alive" },
                        "our node does not list the serf agent")

        n2.signal(SIGTERM)
        XCTAssertEqual(n2.waitForExit(timeout: 20), 0, n2.log)
        XCTAssertNotNil(try waitUntil(15) { try serf.members()["n2"]?.status == "left" }, "serf does not show n2 as left")
        XCTAssertNotNil(waitUntil(15) { members(seenBy: n1)["n2"]?["status"] as? String == "left" })
        // Still alive after the leave settled: nothing else was disturbed.
        XCTAssertEqual(try serf.members()["n1"]?.status, "alive")
    }

    func testEncryptedGossipInteroperatesWithSerfAndShutsOutNodesWithoutTheKey() throws {
        XCTAssertTrue(SerfAgent.isInstalled, "serf is not installed; run deploy/install-debian-packages.sh")
        guard SerfAgent.isInstalled else { return }
        let key = try SerfAgent.keygen()
        let n1 = try start("n1", datacenter: "dc1", encryptKey: key)
        let serf = try SerfAgent(name: "serf-enc", encryptKey: key)
        XCTAssertEqual(try serf.command(["join", "127.0.0.1:\(n1.gossipPort)"]).status, 0)
        XCTAssertNotNil(try waitUntil(15) { try serf.members()["n1"]?.status == "alive" }, "serf (encrypted) does not see n1")
        XCTAssertNotNil(waitUntil(15) { members(seenBy: n1)["serf-enc"]?["status"] as? String == "alive" })

        // A node without the key cannot join: its plaintext packets and streams are refused.
        let outsider = try start("outsider", datacenter: "dc2", join: n1)
        Thread.sleep(forTimeInterval: 3)
        XCTAssertNil(members(seenBy: n1)["outsider"], "a node without the key joined the encrypted cluster")
        XCTAssertNil(members(seenBy: outsider)["n1"])
    }
}

extension GossipClusterTests {
    func testNodeWithADifferentPartitionCountRefusesToJoinLoudly() throws {
        let n1 = try start("n1", datacenter: "dc1")
        try start("n2", datacenter: "dc2", join: n1)
        let odd = try NodeProcess(dataDirectory: directory.file("odd"), name: "odd",
                                  extraArguments: ["--config", try partitionsConfig(64), "--join", "127.0.0.1:\(n1.gossipPort)"])
        nodes["odd"] = odd
        XCTAssertEqual(odd.waitForExit(timeout: 20), 2, odd.log)
        XCTAssertTrue(odd.log.contains("cluster.partitions"), odd.log)
        XCTAssertNotEqual(members(seenBy: n1)["odd"]?["status"] as? String, "alive")
    }

    private func partitionsConfig(_ partitions: Int) throws -> String {
        let path = directory.file("partitions-\(partitions).toml")
        try "[cluster]\npartitions = \(partitions)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
