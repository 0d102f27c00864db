import EspyTestKit
import Foundation
import XCTest

/// The access log of a real node, on by default: one line per response in the node's log format,
/// written off the loop, and none lost when the node stops.
final class NodeAccessLogTests: XCTestCase {
    func testEveryResponseGetsOneLine_inTheLogFormat_andNoneIsLostAtShutdown() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let node = try NodeProcess(dataDirectory: directory.file("data"))
        let requests = 500
        for index in 0..<requests {
            let response = try node.request("GET", index.isMultiple(of: 2) ? "/v1/health" : "/v1/nope-\(index)")
            XCTAssertEqual(response.status, index.isMultiple(of: 2) ? 200 : 404)
        }
        node.signal(SIGINT)
        XCTAssertEqual(node.waitForExit(timeout: 30), 0)
        let lines = node.log.split(separator: "\n").filter { $0.hasSuffix("[EspyNode] request") }
        XCTAssertEqual(lines.count, requests, "an access log line was lost or doubled")
        let pattern = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z info espymetrics: http/bytes=\d+ http/method=GET "#
            + #"http/path=/v1/nope-1 http/peer=127\.0\.0\.1:\d+ http/status=404 http/us=\d+ \[EspyNode\] request$"#
        XCTAssertTrue(lines.contains { $0.range(of: pattern, options: .regularExpression) != nil },
                      "no line in the format: \(lines.prefix(2))")
        XCTAssertEqual(lines.filter { $0.contains("http/path=/v1/health ") && $0.contains("http/status=200") }.count, requests / 2)
    }
}
