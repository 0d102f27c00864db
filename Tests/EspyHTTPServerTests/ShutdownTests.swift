import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

final class ShutdownTests: XCTestCase {
    func testGracefulShutdownAnswersTheInFlightRequestRefusesNewConnectionsAndCompletes() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send(request("GET", "/slow?ms=1000", id: "in-flight"))
        XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { _, routes in routes.requestsSeen } == 1 })

        let completed = Completion()
        try harness.sync { server, _ in server.shutdown { completed.mark() } }
        XCTAssertFalse(completed.isMarked, "shutdown completed while a request was still in flight")

        // New connections are refused, or at least closed without being served.
        if let late = try? harness.client(receiveTimeout: 3) {
            try? late.send(request("GET", "/fast", id: "late"))
            let lateReader = ResponseReader(late)
            XCTAssertEqual(lateReader.waitForEnd(within: 3), .closed, "a connection made during shutdown stayed open")
            XCTAssertFalse(String(decoding: lateReader.buffer, as: UTF8.self).contains("fast late"),
                           "a connection made during shutdown was served")
        }

        let response = try XCTUnwrap(reader.next(), "the in-flight request was not answered")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "slow in-flight")
        XCTAssertEqual(response.headers["connection"]?.lowercased(), "close")
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed)
        client.finishSending() // ends the server's lingering close
        XCTAssertTrue(waitUntil(timeout: 5) { completed.isMarked }, "shutdown's completion never ran")
        XCTAssertEqual(completed.count, 1)
        XCTAssertEqual(try harness.sync { server, _ in (server.connectionCount, server.localAddress == nil) }.0, 0)
        XCTAssertNil(try harness.sync { server, _ in server.localAddress }, "listener still open after shutdown")
        XCTAssertEqual(try harness.sync { _, routes in routes.requestsSeen }, 1)
    }

    func testShutdownClosesIdleKeepAliveConnectionsAtOnce() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send(request("GET", "/fast"))
        XCTAssertEqual(reader.next()?.status, 200)
        let completed = Completion()
        let started = Date()
        try harness.sync { server, _ in server.shutdown { completed.mark() } }
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed)
        XCTAssertLessThan(elapsed(since: started), 1.5, "idle connection waited for the shutdown grace period")
        XCTAssertTrue(waitUntil(timeout: 3) { completed.isMarked })
    }

    func testShutdownWithoutConnectionsCompletesAtOnce() throws {
        let harness = try startServer()
        let completed = Completion()
        try harness.sync { server, _ in server.shutdown { completed.mark() } }
        XCTAssertTrue(waitUntil(timeout: 1) { completed.isMarked })
        XCTAssertThrowsError(try harness.client(), "listener still accepts after shutdown")
    }

    func testShutdownForceClosesRequestsStillRunningAfterTheGracePeriod() throws {
        let harness = try startServer { $0.shutdownGraceMilliseconds = 800 }
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send(request("GET", "/slow?ms=20000", id: "stuck"))
        XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { _, routes in routes.requestsSeen } == 1 })
        let completed = Completion()
        let started = Date()
        try harness.sync { server, _ in server.shutdown { completed.mark() } }
        XCTAssertEqual(reader.waitForEnd(within: 5), .closed, "stuck connection not closed after the grace period")
        let waited = elapsed(since: started)
        XCTAssertGreaterThanOrEqual(waited, 0.6, "closed before the grace period")
        XCTAssertLessThanOrEqual(waited, 3.0)
        XCTAssertTrue(reader.buffer.isEmpty, "a response was sent for the unfinished request")
        XCTAssertTrue(waitUntil(timeout: 3) { completed.isMarked }, "shutdown's completion never ran")
    }

    /// During shutdown every remaining pipelined response is encoded with `Connection: close`
    /// (`keepAlive = slot.keepAlive && !server.isShuttingDown`), and then the next response is
    /// still written after it. RFC 9112 §9.6: a server that sends `close` must close after that
    /// response and must not process further requests; a client will discard the extra
    /// response and retry the request. Only the last response should say `close`.
    func testDuringShutdownOnlyTheLastPipelinedResponseSaysConnectionClose() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send(request("GET", "/slow?ms=800", id: "1") + request("GET", "/fast", id: "2"))
        XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { _, routes in routes.requestsSeen } == 2 })
        try harness.sync { server, _ in server.shutdown {} }
        var responses: [RawHTTPResponse] = []
        while let response = reader.next() { responses.append(response) }
        XCTAssertFalse(responses.isEmpty)
        for response in responses.dropLast() {
            XCTAssertNotEqual(response.headers["connection"]?.lowercased(), "close",
                              "response \(response.headers["x-request-id"] ?? "?") said Connection: close but more followed")
        }
        XCTAssertEqual(responses.last?.headers["connection"]?.lowercased(), "close")
    }
}

/// Counts completion calls from the loop thread.
final class Completion: @unchecked Sendable {
    private let lock = NSLock()
    private var calls = 0
    func mark() {
        lock.lock()
        calls += 1
        lock.unlock()
    }
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return calls
    }
    var isMarked: Bool { count > 0 }
}
