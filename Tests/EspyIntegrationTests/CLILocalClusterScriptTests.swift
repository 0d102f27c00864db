import EspyTestKit
import Foundation
import XCTest

/// `deploy/local-cluster.sh`, run as a user runs it: on addresses and ports of the test's
/// choosing (so it never meets another cluster on this machine), with the binary README
/// builds, growing a running cluster, every node seeded with the others, and `start`
/// returning only once every node is ready.
final class CLILocalClusterScriptTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var environment: [String: String] = [:]
    private var repository = ""
    private var base = ""

    override func setUpWithError() throws {
        directory = TemporaryDirectory()
        // A copy of the script in a repository of its own, whose release build and stale debug
        // build both run the binary under test: which one the script picked shows in its output.
        repository = directory.file("repo")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/local-cluster.sh").path
        for build in [".build/release", ".build/debug"] {
            try FileManager.default.createDirectory(atPath: "\(repository)/\(build)", withIntermediateDirectories: true)
            let stub = "\(repository)/\(build)/espymetrics"
            try "#!/bin/sh\nexec '\(NodeProcess.executablePath)' \"$@\"\n".write(toFile: stub, atomically: true, encoding: .utf8)
            chmod(stub, 0o755)
        }
        try FileManager.default.createDirectory(atPath: repository + "/deploy", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: script, toPath: repository + "/deploy/local-cluster.sh")
        base = "127.\(Int.random(in: 100...250)).\(Int.random(in: 0...255))"
        let httpPort = Int.random(in: 20_000...24_999)
        environment = ProcessInfo.processInfo.environment
        environment["ESPYMETRICS_BIN"] = nil
        environment["ESPY_NODE_CONFIG"] = nil
        environment["ESPY_CLUSTER_DIR"] = directory.file("cluster")
        environment["ESPY_CLUSTER_BASE_ADDRESS"] = base + ".10"
        environment["ESPY_CLUSTER_HTTP_PORT"] = String(httpPort)
        environment["ESPY_CLUSTER_GOSSIP_PORT"] = String(httpPort + 5_000)
        environment["ESPY_CLUSTER_READY_TIMEOUT"] = "110"
    }

    override func tearDown() {
        let stop = try? run(["stop"])
        if (testRun?.failureCount ?? 0) > 0 {
            print("stop: \(stop?.output ?? "")")
            for node in 1...3 {
                print("log of n\(node):\n" + ((try? String(contentsOfFile: directory.file("cluster/n\(node)/node.log"), encoding: .utf8)) ?? "")
                    .split(separator: "\n").suffix(30).joined(separator: "\n"))
            }
        }
        directory.remove()
    }

    private func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try runToCompletion("/bin/bash", [repository + "/deploy/local-cluster.sh"] + arguments,
                            environment: environment.merging(extra) { $1 })
    }

    private func address(_ node: Int) -> String { "\(base).\(10 + node)" }
    private var httpPort: Int { Int(environment["ESPY_CLUSTER_HTTP_PORT"]!)! }
    private var gossipPort: Int { Int(environment["ESPY_CLUSTER_GOSSIP_PORT"]!)! }

    private func get(_ node: Int, _ path: String) throws -> RawHTTPResponse {
        let client = try RawHTTPClient(port: httpPort, host: address(node))
        try client.send("GET \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        guard let response = client.readResponses(1).first else { throw NodeProcessError(message: "no answer from n\(node)") }
        return response
    }

    /// Ready as the script judges it: /v1/ready, or /v1/health on a node without it.
    private func isReady(_ node: Int) throws -> Bool {
        let ready = try get(node, "/v1/ready")
        return ready.status == 404 ? try get(node, "/v1/health").status == 200 : ready.status == 200
    }

    private func arguments(of node: Int) throws -> [String] {
        let pid = try String(contentsOfFile: directory.file("cluster/n\(node)/node.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let commandLine = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        return commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The `--join` values node `node` was started with.
    private func seeds(of node: Int) throws -> [String] {
        let arguments = try arguments(of: node)
        return zip(arguments, arguments.dropFirst()).filter { $0.0 == "--join" }.map(\.1)
    }

    private func alive(seenBy node: Int) throws -> Int {
        let members = try get(node, "/v1/cluster/members").json()?["members"] as? [[String: Any]] ?? []
        return members.filter { $0["status"] as? String == "alive" }.count
    }

    func testStartUsesTheConfiguredAddresses_growsARunningCluster_andReturnsOnceEveryNodeIsReady() throws {
        let first = try run(["start", "2"])
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.output.contains("starting 2 nodes with /") && first.output.contains("/repo/.build/release/espymetrics ("),
                      "README's release build comes before a debug build:\n\(first.output)")
        for node in 1...2 {
            XCTAssertTrue(try isReady(node), "start returned before n\(node) was ready")
            XCTAssertEqual(try alive(seenBy: node), 2)
        }
        XCTAssertEqual(try seeds(of: 1), ["\(address(2)):\(gossipPort)"], "n1 is not started alone: the others are its seeds")
        XCTAssertEqual(try seeds(of: 2), ["\(address(1)):\(gossipPort)"])

        let grown = try run(["start", "3"])
        XCTAssertEqual(grown.status, 0, grown.output)
        XCTAssertTrue(grown.output.contains("adding 1 node to the 2 running"), grown.output)
        for node in 1...3 {
            XCTAssertTrue(try isReady(node), "start returned before n\(node) was ready")
            XCTAssertEqual(try alive(seenBy: node), 3, "n\(node)")
        }
        XCTAssertEqual(try seeds(of: 3), ["\(address(1)):\(gossipPort)", "\(address(2)):\(gossipPort)"])

        let status = try run(["status"])
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertEqual(status.output.split(separator: "\n").filter { $0.hasPrefix("n") && $0.hasSuffix(" ready") }.count, 3, status.output)

        let shrink = try run(["start", "2"])
        XCTAssertEqual(shrink.status, 1, shrink.output)
        XCTAssertTrue(shrink.output.contains("n3 is running"), shrink.output)
        let otherPort = try run(["start", "3"], environment: ["ESPY_CLUSTER_HTTP_PORT": String(httpPort + 1)])
        XCTAssertEqual(otherPort.status, 1, otherPort.output)
        XCTAssertTrue(otherPort.output.contains("the running nodes of"), otherPort.output)

        let stop = try run(["stop"])
        XCTAssertEqual(stop.status, 0, stop.output)
        XCTAssertEqual(stop.output.components(separatedBy: "stopped cleanly").count - 1, 3, stop.output)
    }

    func testBadSettingsAreRefusedWithTheVariable() throws {
        let address = try run(["start", "1"], environment: ["ESPY_CLUSTER_BASE_ADDRESS": "localhost"])
        XCTAssertEqual(address.status, 1)
        XCTAssertTrue(address.output.contains("ESPY_CLUSTER_BASE_ADDRESS must be an IPv4 address"), address.output)
        let port = try run(["start", "1"], environment: ["ESPY_CLUSTER_GOSSIP_PORT": "70000"])
        XCTAssertEqual(port.status, 1)
        XCTAssertTrue(port.output.contains("ESPY_CLUSTER_GOSSIP_PORT must be a port"), port.output)
        let tooMany = try run(["start", "245"], environment: ["ESPY_CLUSTER_BASE_ADDRESS": base + ".10"])
        XCTAssertEqual(tooMany.status, 1)
        XCTAssertTrue(tooMany.output.contains("from 1 to 244"), tooMany.output)
    }
}
