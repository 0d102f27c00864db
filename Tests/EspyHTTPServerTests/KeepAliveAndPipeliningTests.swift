import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

final class KeepAliveAndPipeliningTests: XCTestCase {
    func testKeepAliveConnectionServesSeveralRequestsInTurn() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        for index in 1...5 {
            try client.send(request("POST", "/echo", id: "\(index)", body: "body \(index)"))
            let response = try XCTUnwrap(reader.next(), "no response to request \(index)")
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.bodyText, "body \(index)")
            XCTAssertEqual(response.headers["x-request-id"], "\(index)")
            XCTAssertEqual(response.headers["content-length"], "\("body \(index)".utf8.count)")
            XCTAssertNil(response.headers["connection"], "a keep-alive response announced a close")
            XCTAssertNotNil(response.headers["date"])
        }
        XCTAssertEqual(try harness.sync { server, _ in server.connectionCount }, 1, "requests did not share one connection")
        XCTAssertEqual(reader.waitForEnd(within: 0.3), .stillOpen)
    }

    func testPipelinedResponsesComeBackInRequestOrderWhenAnEarlierOneIsSlow() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send(request("GET", "/slow?ms=600", id: "1")
            + request("GET", "/fast", id: "2")
            + request("POST", "/echo", id: "3", body: "third")
            + request("GET", "/fast", id: "4"))
        let responses = reader.next(4)
        XCTAssertEqual(responses.map { $0.headers["x-request-id"] }, ["1", "2", "3", "4"], "responses out of request order")
        XCTAssertEqual(responses.map(\.bodyText), ["slow 1", "fast 2", "third", "fast 4"])
        XCTAssertEqual(responses.map(\.status), [200, 200, 200, 200])
        // The handlers did finish out of order, so the server had to hold the fast answers back.
        XCTAssertEqual(try harness.sync { _, routes in routes.replyOrder }, ["2", "3", "4", "1"])
        XCTAssertEqual(reader.waitForEnd(within: 0.2), .stillOpen)
        XCTAssertTrue(reader.buffer.isEmpty, "unexpected bytes after the pipelined responses")
    }

    func testPipelinedRequestsBeyondTheReadAheadLimitAreAllAnsweredInOrder() throws {
        let harness = try startServer { $0.maxPipelinedRequests = 2 }
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send(request("GET", "/slow?ms=300", id: "1") + request("GET", "/fast", id: "2")
            + request("GET", "/slow?ms=100", id: "3"))
        Thread.sleep(forTimeInterval: 0.1)
        // Sent while reading is paused: must be read once the earlier ones are answered.
        try client.send(request("GET", "/fast", id: "4") + request("POST", "/echo", id: "5", body: "five"))
        let responses = reader.next(5)
        XCTAssertEqual(responses.map { $0.headers["x-request-id"] }, ["1", "2", "3", "4", "5"])
        XCTAssertEqual(responses.last?.bodyText, "five")
    }

    func testConnectionCloseRequestGetsConnectionCloseAndTheServerCloses() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        // A request pipelined after the closing one must not be served.
        try client.send(request("GET", "/fast", id: "1", headers: ["Connection: close"]) + request("GET", "/fast", id: "2"))
        let response = try XCTUnwrap(reader.next())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "fast 1")
        XCTAssertEqual(response.headers["connection"]?.lowercased(), "close")
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed, "server kept the connection open after Connection: close")
        XCTAssertTrue(reader.buffer.isEmpty, "server answered a request sent after Connection: close")
        XCTAssertEqual(try harness.sync { _, routes in routes.requestsSeen }, 1)
        client.finishSending() // ends the server's lingering close
        XCTAssertTrue(try waitUntil(timeout: 3) { try harness.sync { server, _ in server.connectionCount } == 0 })
    }

    func testHTTP10RequestWithoutKeepAliveGetsConnectionCloseAndIsClosed() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send("GET /fast HTTP/1.0\r\nX-Request-Id: old\r\n\r\n")
        let response = try XCTUnwrap(reader.next())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "fast old")
        XCTAssertEqual(response.headers["connection"]?.lowercased(), "close")
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed)
    }

    func testHTTP10RequestWithKeepAliveKeepsTheConnection() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        for id in ["a", "b"] {
            try client.send("GET /fast HTTP/1.0\r\nConnection: keep-alive\r\nX-Request-Id: \(id)\r\n\r\n")
            let response = try XCTUnwrap(reader.next(), "no response to \(id)")
            XCTAssertEqual(response.bodyText, "fast \(id)")
            XCTAssertNil(response.headers["connection"].flatMap { $0.lowercased() == "close" ? $0 : nil })
        }
    }

    func testHEADGetsTheHeadersWithContentLengthButNoBody() throws {
        let harness = try startServer()
        let client = try harness.client(receiveTimeout: 3)
        let reader = ResponseReader(client)
        try client.send(request("HEAD", "/get-only", id: "1") + request("GET", "/fast", id: "2"))
        let head = try XCTUnwrap(reader.next(bodyless: true))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-length"], "\("only GET".utf8.count)", "HEAD must announce the GET body's length")
        XCTAssertEqual(head.headers["x-request-id"], "1")
        // The next bytes must be the next response, not a body.
        XCTAssertTrue(reader.nextHead()?.hasPrefix("HTTP/1.1 200 OK\r\n") ?? false, "bytes after the HEAD response's head")
        XCTAssertEqual(try harness.sync { _, routes in routes.replyOrder }, ["1", "2"])
    }

    func testHEADOfAStreamedResponseSendsNoBodyAndCancelsTheStream() throws {
        let harness = try startServer()
        let client = try harness.client(receiveTimeout: 3)
        let reader = ResponseReader(client)
        try client.send(request("HEAD", "/stream?chunks=5&size=100", id: "1") + request("GET", "/fast", id: "2"))
        let head = try XCTUnwrap(reader.next(bodyless: true))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["transfer-encoding"]?.lowercased(), "chunked")
        let next = try XCTUnwrap(reader.next(), "no response after HEAD (or HEAD sent a body)")
        XCTAssertEqual(next.headers["x-request-id"], "2")
        XCTAssertEqual(next.bodyText, "fast 2")
        let (cancelled, produced) = try harness.sync { _, routes in (routes.streams.first?.cancelled, routes.streams.first?.produced) }
        XCTAssertEqual(cancelled, true, "HEAD did not cancel the stream")
        XCTAssertEqual(produced, 0, "HEAD pulled chunks it would not send")
    }
}
