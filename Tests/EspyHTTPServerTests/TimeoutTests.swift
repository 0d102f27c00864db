import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

/// The server checks timeouts in a sweep once a second, so a timeout of 1.5 s fires between
/// 1.5 s and about 2.5 s; the bounds below allow for that and for a busy machine.
final class TimeoutTests: XCTestCase {
    func testIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws {
        let harness = try startServer { $0.idleTimeoutMilliseconds = 1_500 }
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send(request("GET", "/fast"))
        XCTAssertEqual(reader.next()?.status, 200)
        let idleSince = Date()
        XCTAssertEqual(reader.waitForEnd(within: 6), .closed, "idle connection never closed")
        let idleFor = elapsed(since: idleSince)
        XCTAssertGreaterThanOrEqual(idleFor, 1.3, "closed before the idle timeout")
        XCTAssertLessThanOrEqual(idleFor, 4.0, "closed long after the idle timeout")
        XCTAssertTrue(reader.buffer.isEmpty, "an idle close must not send a response")
        XCTAssertTrue(try waitUntil(timeout: 2) { try harness.sync { server, _ in server.connectionCount } == 0 })
    }

    func testConnectionInUseWithinTheIdleTimeoutStaysOpen() throws {
        let harness = try startServer { $0.idleTimeoutMilliseconds = 1_500 }
        let client = try harness.client()
        let reader = ResponseReader(client)
        for index in 0..<4 { // 4 × 0.8 s: longer than the timeout in total, shorter between requests
            try client.send(request("GET", "/fast", id: "\(index)"))
            XCTAssertEqual(reader.next()?.bodyText, "fast \(index)", "request \(index) failed")
            Thread.sleep(forTimeInterval: 0.8)
        }
    }

    func testHalfSentRequestGets408ThenTheConnectionCloses() throws {
        let harness = try startServer { $0.requestTimeoutMilliseconds = 1_500 }
        let client = try harness.client()
        let reader = ResponseReader(client)
        let started = Date()
        try client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly part of the body")
        let response = try XCTUnwrap(reader.next(), "no 408 for a half-sent request")
        let waited = elapsed(since: started)
        assertJSONError(response, status: 408)
        XCTAssertEqual(response.headers["connection"]?.lowercased(), "close")
        XCTAssertGreaterThanOrEqual(waited, 1.3, "408 before the request timeout")
        XCTAssertLessThanOrEqual(waited, 4.0)
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed)
        XCTAssertEqual(try harness.sync { _, routes in routes.requestsSeen }, 0)
    }

    func testTricklingClientGets408CountedFromTheRequestsFirstByte() throws {
        let harness = try startServer { $0.requestTimeoutMilliseconds = 1_500 }
        let client = try harness.client()
        let reader = ResponseReader(client)
        let started = Date()
        // One header byte every 200 ms: the connection is never idle, but the request is too slow.
        let slowHeader = Array("GET /fast HTTP/1.1\r\nX-Slow: ".utf8) + [UInt8](repeating: UInt8(ascii: "z"), count: 100)
        var sent = 0
        client.setReceiveTimeout(0.2)
        while sent < slowHeader.count && elapsed(since: started) < 8 {
            do { try client.send([slowHeader[sent]]) } catch { break }
            sent += 1
            if let bytes = client.receive() {
                reader.append(bytes)
                break
            }
        }
        client.setReceiveTimeout(5)
        let response = try XCTUnwrap(reader.next(), "no 408 for a trickling request")
        assertJSONError(response, status: 408)
        XCTAssertLessThanOrEqual(elapsed(since: started), 4.0, "the request timeout was restarted by each byte")
    }

    func testRequestTimeoutDoesNotCoverTimeSpentInTheHandler() throws {
        let harness = try startServer { $0.requestTimeoutMilliseconds = 1_000 }
        let client = try harness.client()
        try client.send(request("GET", "/slow?ms=2500", id: "patient"))
        let response = try XCTUnwrap(ResponseReader(client).next())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "slow patient")
    }

    /// `lastActivity` is only updated when bytes are read (and while streaming), not when a
    /// response is written: after a handler that ran longer than the idle timeout, the next
    /// sweep closes the connection at once, so a client reusing it a moment later finds it
    /// closed although it was idle for far less than the idle timeout.
    func testIdleTimeoutCountsFromTheLastResponseNotFromTheRequest() throws {
        let harness = try startServer { $0.idleTimeoutMilliseconds = 2_000 }
        let client = try harness.client(receiveTimeout: 3)
        let reader = ResponseReader(client)
        try client.send(request("GET", "/slow?ms=3000", id: "1"))
        client.setReceiveTimeout(6)
        XCTAssertEqual(reader.next()?.bodyText, "slow 1")
        // Idle for 1.2 s of a 2 s idle timeout (the sweep runs at least once meanwhile).
        XCTAssertEqual(reader.waitForEnd(within: 1.2), .stillOpen,
                       "connection closed 1.2 s after its response although the idle timeout is 2 s")
    }

    /// After a protocol error the parser is left "inside a request", so the request timer keeps
    /// running: when an earlier (slow) request holds the 400 back past the request timeout, the
    /// sweep queues a 408 as well, and the client gets a second error response after the one
    /// that said `Connection: close`.
    func testNoSecondErrorResponseAfterA400WaitingBehindASlowRequest() throws {
        let harness = try startServer { $0.requestTimeoutMilliseconds = 1_000 }
        let client = try harness.client(receiveTimeout: 6)
        let reader = ResponseReader(client)
        try client.send(request("GET", "/slow?ms=2500", id: "1"))
        Thread.sleep(forTimeInterval: 0.2)
        try client.send("BLAH / HTTP/1.1\r\n\r\n")
        let responses = reader.next(2)
        XCTAssertEqual(responses.map(\.status), [200, 400])
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed)
        let extra = reader.buffer.isEmpty ? nil : String(decoding: reader.buffer, as: UTF8.self)
        XCTAssertNil(extra, "bytes after the final (Connection: close) response")
    }
}
