import EspyTestKit
import Foundation
import XCTest

/// Signals a real node must survive: a client that resets its connection while a long response
/// is being written raises SIGPIPE, which the executable ignores (its default action would end
/// the process and take every other client's requests with it).
final class NodeSignalTests: XCTestCase {
    func testAClientResettingALongDownload_leavesTheNodeServing() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let node = try NodeProcess(dataDirectory: directory.file("data"))
        var generator = ProfileGenerator(seed: 91)
        let body = (0..<20_000).map { generator.profile(index: $0).json }.joined(separator: "\n")
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(body.utf8)).status, 200)
        for _ in 0..<3 {
            let client = try RawHTTPClient(port: node.httpPort, receiveTimeout: 5)
            try client.send(Array("GET /v1/download/import HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            _ = client.receive()  // the response has started; the rest is being written
            var linger = linger(l_onoff: 1, l_linger: 0) // close() sends RST
            setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertTrue(node.process.isRunning, "the node died: \(node.log.suffix(1_000))")
        XCTAssertEqual(try node.request("GET", "/v1/health").status, 200)
    }
}
