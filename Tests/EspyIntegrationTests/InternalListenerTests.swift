import EspyTestKit
import Foundation
import XCTest

/// `[cluster] internal_address`: node-to-node requests on their own listener, real nodes on
/// loopback. Each node's HTTP address is 127.0.0.1:*, its internal listener 127.0.0.(20+i):*,
/// so the two networks are told apart by address.
final class InternalListenerTests: XCTestCase {
    private var harness: ClusterHarness!

    override func setUp() { harness = ClusterHarness() }

    override func tearDown() {
        if (testRun?.failureCount ?? 0) > 0 {
            for name in harness.nodes.keys.sorted() { print("log of \(name):\n" + harness[name].log.suffix(3_000)) }
        }
        for node in harness.nodes.values { node.terminateHard() }
        harness.directory.remove()
    }

    private func internalConfig(_ index: Int) -> String { "[cluster]\ninternal_address = \"127.0.0.\(20 + index):0\"\n" }

    private func internalAddress(of name: String, seenBy observer: String) throws -> String? {
        let members = try harness[observer].request("GET", "/v1/cluster/members").json()?["members"] as? [[String: Any]]
        return (members?.first { $0["name"] as? String == name }?["tags"] as? [String: String])?["internal"]
    }

    func testPeersTalkOnlyOnTheInternalListener_andEachAddressRefusesTheOthersRequests() throws {
        let names = ["n1", "n2", "n3"]
        for (index, name) in names.enumerated() {
            try harness.start(name, datacenter: "dc\(index + 1)", config: internalConfig(index + 1))
        }
        for name in names {
            XCTAssertTrue(harness.waitUntil(30) { harness.alive(seenBy: name) == Set(names) }, "cluster did not form at \(name)")
        }
        // Every member announces its internal listener, with the port it bound.
        for (index, name) in names.enumerated() {
            let announced = try XCTUnwrap(try internalAddress(of: name, seenBy: "n1"), "\(name) announces no internal address")
            XCTAssertTrue(announced.hasPrefix("127.0.0.\(21 + index):"), announced)
            XCTAssertFalse(announced.hasSuffix(":0"), "the bound port, not the configured 0: \(announced)")
        }

        let profiles = ProfileGenerator.profiles(3_000, seed: 31)
        try harness.ingest(profiles[...], through: "n2", batch: 1_000)
        for name in names {
            let answer = try XCTUnwrap(try harness[name].request("GET", "/v1/count?read_consistency=verified").json())
            XCTAssertEqual(answer["record_count"] as? Int, 3_000, "\(name): \(answer)")
            XCTAssertEqual((answer["coverage"] as? [String: Any])?["partial"] as? Bool, false, "\(name): \(answer)")
        }
        // Replica writes, counts and digests all went to the internal listeners: the access
        // log names the peer, and no node-to-node request reached an HTTP address.
        for name in names {
            let lines = harness[name].log.split(separator: "\n").filter { $0.contains("http/path=/internal/v1/") }
            XCTAssertFalse(lines.isEmpty, "\(name) served no node-to-node request")
            XCTAssertTrue(lines.allSatisfy { $0.contains("http/status=200") }, lines.filter { !$0.contains("http/status=200") }.joined(separator: "\n"))
        }

        // The public address refuses node-to-node paths (signed or not), and stores nothing.
        let record = Array(#"{"partition_probe": true}"#.utf8)
        let refused = try harness.internalRequest("n1", "POST", "/internal/v1/records", body: record, contentType: "application/x-ndjson")
        XCTAssertEqual(refused.status, 404, refused.bodyText)
        XCTAssertTrue(refused.bodyText.contains("internal address (127.0.0.21:"), refused.bodyText)
        // The internal listener serves nothing else.
        let announced = try XCTUnwrap(try internalAddress(of: "n1", seenBy: "n1"))
        let port = try XCTUnwrap(Int(announced.split(separator: ":").last!))
        let count = try request("127.0.0.21", port, "GET", "/v1/count")
        XCTAssertEqual(count.status, 404, count.bodyText)
        XCTAssertTrue(count.bodyText.contains("node-to-node requests (/internal/v1/*) only"), count.bodyText)
        // It still asks for the cluster key: a second address is no way around the signature.
        XCTAssertEqual(try request("127.0.0.21", port, "POST", "/internal/v1/count").status, 401)
        XCTAssertEqual(try harness["n3"].request("GET", "/v1/count").json()?["record_count"] as? Int, 3_000)
    }

    func testATakenInternalAddressStopsTheNodeWithTheReason() throws {
        let holder = try harness.start("n1", datacenter: "dc1", config: internalConfig(1))
        let taken = try XCTUnwrap(try internalAddress(of: "n1", seenBy: "n1"))
        let (status, output) = try runEspyMetrics(["serve", "--name", "n2", "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0",
                                                   "--data-dir", harness.directory.file("n2"),
                                                   "--config", try writeConfig("[cluster]\ninternal_address = \"\(taken)\"\n")])
        XCTAssertEqual(status, 1, output)
        XCTAssertTrue(output.contains("cannot start: cluster.internal_address \(taken): address in use"), output)
        XCTAssertTrue(holder.process.isRunning)
    }

    private func request(_ host: String, _ port: Int, _ method: String, _ target: String) throws -> RawHTTPResponse {
        let client = try RawHTTPClient(port: port, host: host)
        try client.send("\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\nContent-Length: 0\r\n\r\n")
        guard let response = client.readResponses(1).first else { throw NodeProcessError(message: "no response to \(method) \(target)") }
        return response
    }

    private func writeConfig(_ text: String) throws -> String {
        let path = harness.directory.file("n2.toml")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
