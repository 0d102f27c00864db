import EspyTestKit
import Foundation
import XCTest

/// Slow clients that take every connection place must not shut out the other nodes or the
/// operator, and a refused client must read its 503 rather than a reset.
final class NodeConnectionLimitTests: XCTestCase {
    func testHalfSentRequestsFillingEveryPlace_leavePeersMetricsAndReadinessReachable() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.file("node.toml")
        try "[http]\nmax_connections = 40\nreserved_connections = 8\n".write(toFile: config, atomically: true, encoding: .utf8)
        let node = try NodeProcess(dataDirectory: directory.file("data"), extraArguments: ["--config", config])

        // Slow clients: each sends half a request and then nothing, holding its place.
        var slow: [RawHTTPClient] = []
        for _ in 0..<60 {
            let client = try RawHTTPClient(port: node.httpPort, receiveTimeout: 5)
            try client.send("POST /v1/import HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"partial\":")
            slow.append(client)
        }
        Thread.sleep(forTimeInterval: 0.5)

        // What another node or the operator asks still gets in, through the reserved places.
        XCTAssertEqual(try node.request("GET", "/metrics", timeout: 10).status, 200)
        XCTAssertEqual(try node.request("GET", "/v1/ready", timeout: 10).status, 200)
        let digests = try node.request("POST", "/internal/v1/repair/digests", body: Array("0,1,2".utf8), timeout: 10)
        XCTAssertEqual(digests.status, 200, digests.bodyText)

        // A client beyond every place reads a 503 that says why, even having sent its request.
        let refused = try node.request("POST", "/v1/import", body: Array(#"{"a":1}"#.utf8), timeout: 10)
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.bodyText.contains("too many connections"), refused.bodyText)
        XCTAssertTrue(node.process.isRunning)
        slow.removeAll()
    }
}
