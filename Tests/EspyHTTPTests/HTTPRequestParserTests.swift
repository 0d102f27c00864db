import EspyHTTP
import XCTest

final class HTTPRequestParserTests: XCTestCase {
    private func feed(_ parser: HTTPRequestParser, _ text: String) -> Result<[HTTPRequestParser.Event], HTTPRequestParser.Failure> {
        feed(parser, Array(text.utf8))
    }

    private func feed(_ parser: HTTPRequestParser, _ bytes: [UInt8]) -> Result<[HTTPRequestParser.Event], HTTPRequestParser.Failure> {
        let result = bytes.withUnsafeBytes { parser.feed($0) }
        if let failure = result.failure { return .failure(failure) }
        return .success(result.events)
    }

    private func requests(_ events: [HTTPRequestParser.Event]) -> [HTTPRequest] {
        events.compactMap { if case .request(let request) = $0 { request } else { nil } }
    }

    private func continues(_ events: [HTTPRequestParser.Event]) -> Int {
        events.filter { if case .expectsContinue = $0 { true } else { false } }.count
    }

    /// Feeds `text` and expects success; returns the completed requests.
    private func parse(_ text: String, limits: HTTPRequestParser.Limits = .init(),
                       file: StaticString = #filePath, line: UInt = #line) throws -> [HTTPRequest] {
        let parser = HTTPRequestParser(limits: limits)
        switch feed(parser, text) {
        case .success(let events): return requests(events)
        case .failure(let failure):
            XCTFail("unexpected failure \(failure)", file: file, line: line)
            throw failure
        }
    }

    /// Feeds `text` (optionally in pieces) and expects the connection to fail with `status`.
    private func assertFails(_ pieces: [String], status: Int, limits: HTTPRequestParser.Limits = .init(),
                             file: StaticString = #filePath, line: UInt = #line) {
        let parser = HTTPRequestParser(limits: limits)
        for piece in pieces {
            if case .failure(let failure) = feed(parser, piece) {
                XCTAssertEqual(failure.status.code, status, failure.message, file: file, line: line)
                XCTAssertFalse(failure.message.isEmpty, file: file, line: line)
                // The failure is final: later bytes get the same answer.
                if case .failure(let again) = feed(parser, "GET / HTTP/1.1\r\n\r\n") {
                    XCTAssertEqual(again, failure, file: file, line: line)
                } else {
                    XCTFail("parser recovered after a failure", file: file, line: line)
                }
                return
            }
        }
        XCTFail("no failure; expected \(status)", file: file, line: line)
    }

    // MARK: Requests

    func testSimpleGet() throws {
        let parsed = try parse("GET /v1/count?group_by=uname$system HTTP/1.1\r\nHost: example\r\nX-Custom: a b\r\n\r\n")
        XCTAssertEqual(parsed.count, 1)
        let request = try XCTUnwrap(parsed.first)
        XCTAssertEqual(request.method, .get)
        XCTAssertEqual(request.target, "/v1/count?group_by=uname$system")
        XCTAssertEqual(request.path, "/v1/count")
        XCTAssertEqual(request.headers["host"], "example")
        XCTAssertEqual(request.headers["X-CUSTOM"], "a b")
        XCTAssertEqual(request.body, [])
        XCTAssertTrue(request.keepAlive)
        XCTAssertEqual(request.version.major, 1)
        XCTAssertEqual(request.version.minor, 1)
    }

    func testMethodsAreRecognised() throws {
        XCTAssertEqual(try parse("HEAD / HTTP/1.1\r\n\r\n").first?.method, .head)
        XCTAssertEqual(try parse("DELETE / HTTP/1.1\r\n\r\n").first?.method, .delete)
        XCTAssertEqual(try parse("OPTIONS * HTTP/1.1\r\n\r\n").first?.method, .options)
        XCTAssertEqual(try parse("PROPFIND / HTTP/1.1\r\n\r\n").first?.method, .other("PROPFIND"))
    }

    func testRepeatedHeadersKeepArrivalOrderAndTheFirstWinsOnLookup() throws {
        let request = try XCTUnwrap(try parse("GET / HTTP/1.1\r\nAccept: a\r\naccept: b\r\n\r\n").first)
        XCTAssertEqual(request.headers["accept"], "a")
        XCTAssertEqual(request.headers.filter { $0.name == "accept" }.map(\.value), ["a", "b"])
    }

    func testPipelinedRequestsInOneFeed() throws {
        let parsed = try parse("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                               + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                               + "PUT /c HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
                               + "GET /d HTTP/1.1\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(parsed.map(\.target), ["/a", "/b", "/c", "/d"])
        XCTAssertEqual(parsed.map(\.method), [.get, .post, .put, .get])
        XCTAssertEqual(parsed.map { String(decoding: $0.body, as: UTF8.self) }, ["", "hello", "", ""])
        XCTAssertEqual(parsed.map(\.keepAlive), [true, true, true, false])
        XCTAssertNil(parsed[0].headers["content-length"], "headers do not leak into the next request")
        XCTAssertNil(parsed[2].headers["host"])
    }

    func testRequestSplitIntoOneByteFeeds() throws {
        let text = "POST /v1/records?x=1 HTTP/1.1\r\nHost: example\r\nContent-Type: application/x-ndjson\r\n"
            + "Content-Length: 11\r\n\r\n{\"a\":1}\n{}\n"
            + "GET /next HTTP/1.1\r\nX-Long-Header-Name: some value\r\n\r\n"
        let parser = HTTPRequestParser()
        var events: [HTTPRequestParser.Event] = []
        var sawInside = false
        for byte in Array(text.utf8) {
            switch feed(parser, [byte]) {
            case .success(let more): events += more
            case .failure(let failure): return XCTFail("\(failure)")
            }
            sawInside = sawInside || parser.isInsideRequest
        }
        XCTAssertTrue(sawInside)
        XCTAssertFalse(parser.isInsideRequest)
        let parsed = requests(events)
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(parsed.first?.target, "/v1/records?x=1")
        XCTAssertEqual(parsed.first?.headers["content-type"], "application/x-ndjson")
        XCTAssertEqual(parsed.first?.headers["host"], "example")
        XCTAssertEqual(parsed.first.map { String(decoding: $0.body, as: UTF8.self) }, "{\"a\":1}\n{}\n")
        XCTAssertEqual(parsed.last?.target, "/next")
        XCTAssertEqual(parsed.last?.headers["x-long-header-name"], "some value")
        XCTAssertEqual(parsed.last?.body, [])
    }

    func testIsInsideRequestOnlyBetweenFirstByteAndCompletion() {
        let parser = HTTPRequestParser()
        XCTAssertFalse(parser.isInsideRequest)
        _ = feed(parser, "GET / HT")
        XCTAssertTrue(parser.isInsideRequest)
        _ = feed(parser, "TP/1.1\r\n\r\n")
        XCTAssertFalse(parser.isInsideRequest)
    }

    func testChunkedBodyIsDecoded() throws {
        let text = "POST /v1/records HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n6;ext=1\r\n world\r\nA\r\n 012345678\r\n0\r\nTrailer: x\r\n\r\n"
        let parsed = try parse(text)
        XCTAssertEqual(parsed.count, 1)
        XCTAssertEqual(parsed.first.map { String(decoding: $0.body, as: UTF8.self) }, "hello world 012345678")
    }

    func testChunkedBodyFedOneByteAtATime() throws {
        let text = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        let parser = HTTPRequestParser()
        var parsed: [HTTPRequest] = []
        for byte in Array(text.utf8) {
            parsed += requests(try feed(parser, [byte]).get())
        }
        XCTAssertEqual(parsed.map { String(decoding: $0.body, as: UTF8.self) }, ["abcde"])
    }

    // MARK: Keep-alive

    func testConnectionCloseEndsKeepAlive() throws {
        XCTAssertEqual(try parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").first?.keepAlive, false)
        XCTAssertEqual(try parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").first?.keepAlive, false)
    }

    func testHTTP10WithoutKeepAliveCloses() throws {
        let request = try XCTUnwrap(try parse("GET / HTTP/1.0\r\n\r\n").first)
        XCTAssertFalse(request.keepAlive)
        XCTAssertEqual(request.version.major, 1)
        XCTAssertEqual(request.version.minor, 0)
    }

    func testHTTP10WithKeepAliveStaysOpen() throws {
        XCTAssertEqual(try parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").first?.keepAlive, true)
    }

    // MARK: Expect: 100-continue

    func testExpectContinueIsReportedBeforeTheBody() throws {
        let parser = HTTPRequestParser()
        let head = try feed(parser, "POST /v1/records HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n").get()
        XCTAssertEqual(continues(head), 1)
        XCTAssertEqual(requests(head).count, 0)
        let rest = try feed(parser, "body").get()
        XCTAssertEqual(continues(rest), 0)
        XCTAssertEqual(requests(rest).map { String(decoding: $0.body, as: UTF8.self) }, ["body"])
    }

    func testExpectContinueIsCaseInsensitive() throws {
        let events = try feed(HTTPRequestParser(), "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n").get()
        XCTAssertEqual(continues(events), 1)
        XCTAssertEqual(requests(events).count, 1)
    }

    func testUnknownExpectationFailsWith417() {
        assertFails(["POST / HTTP/1.1\r\nExpect: something-else\r\nContent-Length: 1\r\n\r\nx"], status: 417)
    }

    // MARK: Limits and errors

    func testContentLengthOverTheLimitFailsWith413BeforeTheBodyArrives() {
        let limits = HTTPRequestParser.Limits(maxBodyBytes: 10)
        let parser = HTTPRequestParser(limits: limits)
        guard case .failure(let failure) = feed(parser, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n") else {
            return XCTFail("a body announced over the limit must fail at the headers")
        }
        XCTAssertEqual(failure.status, .payloadTooLarge)
        XCTAssertTrue(failure.message.contains("11"), failure.message)
    }

    func testContentLengthOverTheLimitFailsEvenWithExpectContinue() {
        assertFails(["POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n"], status: 413,
                    limits: .init(maxBodyBytes: 1000))
    }

    func testBodyExactlyAtTheLimitIsAccepted() throws {
        let parsed = try parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits: .init(maxBodyBytes: 10))
        XCTAssertEqual(parsed.first?.body.count, 10)
    }

    func testChunkedBodyOverTheLimitFailsWith413() {
        assertFails(["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "6\r\nabcdef\r\n", "5\r\nghijk\r\n", "0\r\n\r\n"],
                    status: 413, limits: .init(maxBodyBytes: 10))
    }

    func testChunkedBodyAtTheLimitIsAccepted() throws {
        let parsed = try parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n",
                               limits: .init(maxBodyBytes: 10))
        XCTAssertEqual(parsed.first.map { String(decoding: $0.body, as: UTF8.self) }, "abcdefghij")
    }

    func testHeadersOverTheLimitFailWith431() {
        let limits = HTTPRequestParser.Limits(maxHeaderBytes: 100)
        assertFails(["GET / HTTP/1.1\r\nX-Big: \(String(repeating: "v", count: 200))\r\n\r\n"], status: 431, limits: limits)
        assertFails(["GET /\(String(repeating: "p", count: 150)) HTTP/1.1\r\n\r\n"], status: 431, limits: limits)
        let many = (0..<20).map { "X-\($0): 1234567890\r\n" }
        assertFails(["GET / HTTP/1.1\r\n"] + many + ["\r\n"], status: 431, limits: limits)
    }

    func testHeadersJustUnderTheLimitAreAccepted() throws {
        // Counted: target "/" (1) + "X-A" (3) + value (90) = 94 bytes.
        let parsed = try parse("GET / HTTP/1.1\r\nX-A: \(String(repeating: "v", count: 90))\r\n\r\n", limits: .init(maxHeaderBytes: 100))
        XCTAssertEqual(parsed.count, 1)
    }

    func testHeaderLimitAppliesPerRequest() throws {
        let one = "GET / HTTP/1.1\r\nX-A: \(String(repeating: "v", count: 60))\r\n\r\n"
        XCTAssertEqual(try parse(one + one + one, limits: .init(maxHeaderBytes: 100)).count, 3)
    }

    func testGarbageFailsWith400() {
        assertFails(["HELLO WORLD\r\n\r\n"], status: 400)
        assertFails(["\u{01}\u{02}\u{03}\r\n\r\n"], status: 400)
        assertFails(["GET / HTTP/1.1\r\nbad header line\r\n\r\n"], status: 400)
        assertFails(["GET / HTTP/9.9.9\r\n\r\n"], status: 400)
        assertFails(["POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"], status: 400)
        assertFails(["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], status: 400)
    }

    func testGarbageAfterAValidRequestFailsButKeepsTheFirstRequest() {
        let parser = HTTPRequestParser()
        XCTAssertEqual((try? feed(parser, "GET /ok HTTP/1.1\r\n\r\n").get()).map(requests)?.map(\.target), ["/ok"])
        guard case .failure(let failure) = feed(parser, "NONSENSE\r\n\r\n") else { return XCTFail("garbage accepted") }
        XCTAssertEqual(failure.status, .badRequest)
    }

    func testBytesAfterAConnectionCloseRequestDoNotFailIt() throws {
        // The server stops taking requests after one that closes; the parser must not turn it into a 400.
        let parsed = try parse("GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        XCTAssertEqual(parsed.first?.target, "/a")
        XCTAssertEqual(parsed.first?.keepAlive, false)
    }

    func testProtocolUpgradeIsNotImplemented() {
        assertFails(["GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"], status: 501)
        let head = "POST /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n"
        assertFails([head + "2\r\nab\r\n0\r\n\r\n"], status: 501)
        assertFails([head, "2\r\nab\r\n", "0\r\n\r\n"], status: 501)
    }

    /// Found by the fuzzer: an upgrade whose body is malformed was a 501 when the body came in
    /// a later read than the headers, a 400 in the same read.
    func testAnUpgradeWithAMalformedBodyIsABadRequestHoweverSplit() {
        let head = "POST /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n"
        assertFails([head + "2\r\n{\"a\":\r\n"], status: 400)
        assertFails([head, "2\r\n{\"a\":\r\n"], status: 400)
    }
}

/// Requests completed in the same feed as a later protocol error are still delivered, so the
/// server answers them before the error (HTTPServerConnection.fail).
final class HTTPRequestParserPipelinedFailureTests: XCTestCase {
    func testRequestBeforeGarbageInTheSameReadIsKept() {
        let parser = HTTPRequestParser()
        let result = Array("GET /ok HTTP/1.1\r\n\r\nNONSENSE\r\n\r\n".utf8).withUnsafeBytes { parser.feed($0) }
        XCTAssertEqual(result.events.compactMap { if case .request(let r) = $0 { r.target } else { nil } }, ["/ok"])
        XCTAssertEqual(result.failure?.status.code, 400)
    }
}
