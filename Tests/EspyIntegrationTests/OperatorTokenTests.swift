import EspyTestKit
import Foundation
import XCTest

/// Operator actions on a real node: remove, leave and imports that keep `server_time` need an
/// operator token when the node has any, and come from its own host when it has none.
final class OperatorTokenTests: XCTestCase {
    private let token = "op-3f9c1e0b7a5d42c8"
    private var directory: TemporaryDirectory!
    private var node: NodeProcess!

    override func setUp() { directory = TemporaryDirectory() }

    override func tearDown() {
        if let node, (testRun?.failureCount ?? 0) > 0 { print("node log:\n\(node.log)") }
        node?.terminateHard()
        directory.remove()
    }

    private func start(config: String? = nil) throws {
        var arguments: [String] = []
        if let config {
            try config.write(toFile: directory.file("node.toml"), atomically: true, encoding: .utf8)
            arguments = ["--config", directory.file("node.toml")]
        }
        node = try NodeProcess(dataDirectory: directory.file("data"), extraArguments: arguments)
    }

    private func bearer(_ token: String) -> [(name: String, value: String)] { [("Authorization", "Bearer " + token)] }

    private func stored() throws -> Int? { try node.request("GET", "/v1/health").json()?["records"] as? Int }

    func testWithTokens_operatorActionsNeedOne_andEverythingElseDoesNot() throws {
        try start(config: "[http]\noperator_tokens = [\"\(token)\"]\n")
        let record = Array(#"{"server_time": "2019-05-01 10:00:00.000000", "a": 1}"#.utf8)
        for headers in [[], bearer("op-guessed-wrong-0000"), [("Authorization", "Basic " + token)]] {
            for (method, target, body) in [("POST", "/v1/cluster/leave", [UInt8]()), ("POST", "/v1/cluster/remove?node=gone", []),
                                           ("POST", "/v1/import?keep_server_time=true", record)] {
                let response = try node.request(method, target, body: body, headers: headers)
                XCTAssertEqual(response.status, 401, "\(target) with \(headers): \(response.bodyText)")
                XCTAssertEqual(response.headers["www-authenticate"], #"Bearer realm="espymetrics operator""#)
            }
        }
        XCTAssertEqual(try stored(), 0, "nothing refused was imported")
        XCTAssertTrue(node.process.isRunning, "a refused leave did not stop the node")

        // Clients' own imports and the read-only views need no token.
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(#"{"a": 2}"#.utf8)).status, 200)
        for target in ["/v1/count", "/v1/cluster/members", "/v1/cluster/partitions", "/metrics", "/v1/health"] {
            XCTAssertEqual(try node.request("GET", target).status, 200, target)
        }

        let kept = try node.request("POST", "/v1/import?keep_server_time=true", body: record, headers: bearer(token))
        XCTAssertEqual(kept.status, 200, kept.bodyText)
        XCTAssertEqual(try stored(), 2)
        let removeStranger = try node.request("POST", "/v1/cluster/remove?node=gone", headers: bearer(token))
        XCTAssertNotEqual(removeStranger.status, 401, "past the token, the request is judged on its merits: \(removeStranger.bodyText)")

        // The CLI takes the token from the environment, never from a flag.
        let http = "127.0.0.1:\(node.httpPort)"
        let refused = try runToCompletion(NodeProcess.executablePath, ["leave", "--http", http], environment: [:])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.output.contains("401") && refused.output.contains("operator_tokens"), refused.output)
        let tokenFile = directory.file("token")
        try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let left = try runToCompletion(NodeProcess.executablePath, ["leave", "--http", http],
                                       environment: ["ESPYMETRICS_OPERATOR_TOKEN_FILE": tokenFile])
        XCTAssertEqual(left.status, 0, left.output)
        XCTAssertEqual(node.waitForExit(timeout: 30), 0, "the node left and stopped")
    }

    /// Every loopback address is the node's own host (a client elsewhere gets a 403; see
    /// OperatorAccessTests, since these tests reach nodes over loopback only).
    func testWithoutTokens_operatorActionsAreTakenFromTheNodesOwnHost() throws {
        try start()
        let record = Array(#"{"server_time": "2019-05-01 10:00:00.000000", "a": 1}"#.utf8)
        XCTAssertEqual(try node.request("POST", "/v1/import?keep_server_time=true", body: record, source: "127.0.0.2").status, 200)
        XCTAssertEqual(try node.request("POST", "/v1/cluster/leave", source: "127.0.0.3").status, 202)
        XCTAssertEqual(node.waitForExit(timeout: 30), 0)
    }

    func testATooShortTokenStopsTheNodeNamingTheKey() throws {
        try "[http]\noperator_tokens = [\"short\"]\n".write(toFile: directory.file("bad.toml"), atomically: true, encoding: .utf8)
        let (status, output) = try runEspyMetrics(["serve", "--config", directory.file("bad.toml")])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(output.contains("http.operator_tokens: token 1 must be at least 16"), output)
    }
}
