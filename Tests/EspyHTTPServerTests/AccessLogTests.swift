import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

final class AccessLogTests: XCTestCase {
    func testAccessLogEntryReportsMethodPathStatusAndBodyBytesForEveryResponse() throws {
        let harness = try startServer()
        let client = try harness.client()
        try client.send(request("GET", "/fast?verbose=1", id: "1")
            + request("POST", "/echo", id: "2", body: "twelve bytes")
            + request("GET", "/missing", id: "3")
            + request("DELETE", "/get-only", id: "4")
            + request("HEAD", "/get-only", id: "5")
            + request("GET", "/stream?chunks=3&size=100", id: "6"))
        let reader = ResponseReader(client)
        XCTAssertEqual(reader.next(4).count, 4)
        XCTAssertNotNil(reader.next(bodyless: true))
        XCTAssertNotNil(reader.next())
        XCTAssertTrue(waitUntil(timeout: 3) { harness.accessLog.entries.count >= 6 })
        let entries = harness.accessLog.entries
        XCTAssertEqual(entries.map(\.method), ["GET", "POST", "GET", "DELETE", "HEAD", "GET"])
        XCTAssertEqual(entries.map(\.path), ["/fast", "/echo", "/missing", "/get-only", "/get-only", "/stream"],
                       "paths must be logged without the query")
        XCTAssertEqual(entries.map(\.status), [200, 200, 404, 405, 200, 200])
        XCTAssertEqual(entries[0].bodyBytes, "fast 1".utf8.count)
        XCTAssertEqual(entries[1].bodyBytes, 12)
        XCTAssertEqual(entries[4].bodyBytes, 0, "HEAD sends no body bytes")
        XCTAssertEqual(entries[5].bodyBytes, 300)
        for entry in entries { XCTAssertTrue(entry.peer.hasPrefix("127.0.0.1:"), "peer \(entry.peer)") }
    }

    func testAccessLogEntryMeasuresTheHandlersDuration() throws {
        let harness = try startServer()
        let client = try harness.client()
        try client.send(request("GET", "/slow?ms=300"))
        XCTAssertEqual(ResponseReader(client).next()?.status, 200)
        XCTAssertTrue(waitUntil(timeout: 3) { !harness.accessLog.entries.isEmpty })
        let duration = harness.accessLog.entries.first?.durationMilliseconds ?? 0
        XCTAssertGreaterThanOrEqual(duration, 280)
        XCTAssertLessThan(duration, 3_000)
    }
}
