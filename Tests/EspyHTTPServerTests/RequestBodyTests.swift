import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

final class RequestBodyTests: XCTestCase {
    func testContentLengthBodySplitAcrossWritesArrivesWhole() throws {
        let harness = try startServer()
        let client = try harness.client()
        let body = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 * 7) } // every byte value, incl. CR, LF, NUL
        let head = "PUT /echo HTTP/1.1\r\nHost: test\r\nX-Request-Id: put\r\nContent-Length: \(body.count)\r\n\r\n"
        try client.send(Array(head.utf8) + body[..<1_000])
        Thread.sleep(forTimeInterval: 0.1)
        try client.send(Array(body[1_000...]))
        let response = try XCTUnwrap(ResponseReader(client).next())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["x-method"], "PUT")
        XCTAssertEqual(response.headers["x-body-length"], "5000")
        XCTAssertEqual(response.body, body)
    }

    func testChunkedRequestBodyIsDecoded() throws {
        let harness = try startServer()
        let client = try harness.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n" + "1;note=comma\r\n,\r\n" + "6\r\n world\r\n" + "0\r\nX-Trailer: yes\r\n\r\n")
        let response = try XCTUnwrap(ResponseReader(client).next())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "hello, world")
        XCTAssertEqual(response.headers["x-body-length"], "12")
    }

    func testChunkedRequestTrickledInSmallPiecesIsDecodedAndFollowedByTheNextRequest() throws {
        let harness = try startServer()
        let client = try harness.client()
        let chunks = (0..<20).map { index in String(repeating: String(UnicodeScalar(UInt8(97 + index))), count: index + 1) }
        var wire = "POST /echo HTTP/1.1\r\nHost: test\r\nX-Request-Id: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        for chunk in chunks { wire += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n" }
        wire += "0\r\n\r\n" + request("GET", "/fast", id: "after")
        let bytes = Array(wire.utf8)
        for start in stride(from: 0, to: bytes.count, by: 7) {
            try client.send(Array(bytes[start..<min(start + 7, bytes.count)]))
            usleep(2_000)
        }
        let responses = ResponseReader(client).next(2)
        XCTAssertEqual(responses.count, 2)
        XCTAssertEqual(responses.first?.bodyText, chunks.joined())
        XCTAssertEqual(responses.last?.bodyText, "fast after")
    }

    func testExpect100ContinueGetsContinueBeforeTheBodyIsSent() throws {
        let harness = try startServer()
        let client = try harness.client(receiveTimeout: 3)
        let reader = ResponseReader(client)
        try client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertEqual(reader.nextHead(), "HTTP/1.1 100 Continue\r\n\r\n", "no interim 100 Continue before the body")
        XCTAssertTrue(reader.buffer.isEmpty)
        try client.send("hello")
        let response = try XCTUnwrap(reader.next())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "hello")
    }

    func testExpect100ContinueWithATooLargeBodyGets413InsteadOfContinue() throws {
        let harness = try startServer { $0.limits.maxBodyBytes = 1_024 }
        let client = try harness.client(receiveTimeout: 3)
        let reader = ResponseReader(client)
        try client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        let response = try XCTUnwrap(reader.next())
        XCTAssertEqual(response.status, 413, "a body over the limit was invited with 100 Continue")
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed)
    }

    func testUnsupportedExpectationGets417() throws {
        let harness = try startServer()
        let client = try harness.client(receiveTimeout: 3)
        let reader = ResponseReader(client)
        try client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: teapot\r\n\r\nhello")
        let response = try XCTUnwrap(reader.next())
        XCTAssertEqual(response.status, 417)
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed)
    }

    func testBodyAtTheLimitIsAccepted() throws {
        let harness = try startServer { $0.limits.maxBodyBytes = 1_024 }
        let client = try harness.client()
        let body = String(repeating: "x", count: 1_024)
        try client.send(request("POST", "/echo", body: body))
        let response = try XCTUnwrap(ResponseReader(client).next())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body.count, 1_024)
    }

    func testContentLengthOverTheBodyLimitGets413JSONAndTheConnectionCloses() throws {
        let harness = try startServer { $0.limits.maxBodyBytes = 1_024 }
        let client = try harness.client(receiveTimeout: 3)
        let reader = ResponseReader(client)
        try client.send(request("POST", "/echo", body: String(repeating: "x", count: 1_025)))
        let response = try XCTUnwrap(reader.next())
        assertJSONError(response, status: 413)
        XCTAssertEqual(response.headers["connection"]?.lowercased(), "close")
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed, "connection stayed open after 413")
        XCTAssertTrue(reader.buffer.isEmpty)
        XCTAssertEqual(try harness.sync { _, routes in routes.requestsSeen }, 0, "the handler saw an over-limit request")
    }

    func testChunkedBodyGrowingOverTheLimitGets413AndTheConnectionCloses() throws {
        let harness = try startServer { $0.limits.maxBodyBytes = 1_024 }
        let client = try harness.client(receiveTimeout: 3)
        let reader = ResponseReader(client)
        let chunk = String(repeating: "y", count: 600)
        try client.send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "258\r\n\(chunk)\r\n" + "258\r\n\(chunk)\r\n" + "0\r\n\r\n")
        let response = try XCTUnwrap(reader.next())
        assertJSONError(response, status: 413)
        XCTAssertEqual(reader.waitForEnd(within: 3), .closed, "connection stayed open after 413")
        XCTAssertEqual(try harness.sync { _, routes in routes.requestsSeen }, 0)
    }
}

func assertJSONError(_ response: RawHTTPResponse, status: Int, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(response.status, status, file: file, line: line)
    XCTAssertEqual(response.headers["content-type"], "application/json", file: file, line: line)
    let message = response.json()?["error"] as? String
    XCTAssertNotNil(message, "body is not {\"error\": ...}: \(response.bodyText)", file: file, line: line)
    XCTAssertFalse(message?.isEmpty ?? true, file: file, line: line)
}
