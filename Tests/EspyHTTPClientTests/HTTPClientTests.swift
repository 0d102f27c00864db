import EspyHTTP
import EspyHTTPClient
import EspyHTTPServer
import EspyLoop
import EspyTestKit
import XCTest

/// The client against our own server on a real socket.
final class HTTPClientTests: XCTestCase {
    private var loopThread: LoopThread!
    private var server: HTTPServer!
    private var client: HTTPClient!
    private var address: SocketAddress!
    private var connectionsSeen = 0

    override func setUpWithError() throws {
        loopThread = try LoopThread()
        loopThread.start()
        try loopThread.sync { [self] in
            var settings = HTTPServerSettings(address: try SocketAddress(host: "127.0.0.1", port: 0))
            settings.onResponse = { _ in }
            server = try HTTPServer(loop: loopThread.loop, settings: settings) { [self] request, reply in
                switch request.path {
                case "/echo": reply(HTTPResponse(status: .ok, body: .bytes(Array("\(request.method) ".utf8) + request.body)))
                case "/slow":
                    let timer = Timer(loop: loopThread.loop)
                    timer.start(after: 3000) { timer.close(); reply(HTTPResponse(status: .ok)) }
                case "/echo-header": reply(HTTPResponse(status: .ok, body: .bytes(Array((request.headers["x-sent-at"] ?? "").utf8))))
                case "/close": reply(HTTPResponse(status: .ok, headers: [("Connection", "close")], body: .bytes(Array("bye".utf8))))
                default: reply(.error(.notFound, "nope"))
                }
            }
            address = server.localAddress!
            var clientSettings = HTTPClient.Settings()
            clientSettings.requestTimeoutMilliseconds = 1000
            clientSettings.maxConnectionsPerServer = 2
            client = HTTPClient(loop: loopThread.loop, settings: clientSettings)
        }
    }

    override func tearDown() {
        loopThread.stop { [self] in
            client.close()
            server.shutdown {}
        }
    }

    private func send(_ method: HTTPMethod, _ target: String, body: String = "") -> Result<HTTPResponseParser.Response, HTTPClientError>? {
        loopThread.await { [self] done in client.request(method, target, to: address, body: Array(body.utf8)) { done($0) } }
    }

    func testRequestsShareOneKeepAliveConnection() throws {
        for index in 0..<5 {
            let response = try XCTUnwrap(send(.post, "/echo", body: "n\(index)")).get()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.bodyText, "POST n\(index)")
        }
        XCTAssertEqual(try loopThread.sync { self.server.connectionCount }, 1)
    }

    func testHeadResponseHasNoBodyAndConnectionStaysUsable() throws {
        XCTAssertEqual(try XCTUnwrap(send(.head, "/echo")).get().body, [])
        XCTAssertEqual(try XCTUnwrap(send(.get, "/echo")).get().bodyText, "GET ")
    }

    func testServerClosingAfterResponseIsHandled() throws {
        XCTAssertEqual(try XCTUnwrap(send(.get, "/close")).get().bodyText, "bye")
        XCTAssertEqual(try XCTUnwrap(send(.get, "/echo")).get().status, 200)
    }

    func testRequestTimeoutFails() throws {
        guard case .failure(let error) = try XCTUnwrap(send(.get, "/slow")) else { return XCTFail("expected a timeout") }
        XCTAssertEqual(error.kind, .requestTimeout)
    }

    func testConnectionRefusedFails() throws {
        let closedPort = try loopThread.sync { () -> SocketAddress in
            let listener = try TCPListener(loop: self.loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: 0)) { $0.close() }
            let address = listener.localAddress
            listener.close()
            return address
        }
        let result = loopThread.await { [self] done in client.request(.get, "/", to: closedPort) { done($0) } }
        guard case .failure(let error) = try XCTUnwrap(result) else { return XCTFail("expected a failure") }
        XCTAssertEqual(error.kind, .connectFailed)
    }

    func testConcurrentRequestsBeyondTheLimitQueueAndAllComplete() throws {
        let results = loopThread.await { [self] (done: @escaping ([Int]) -> Void) in
            var statuses: [Int] = []
            for index in 0..<10 {
                client.request(.post, "/echo", to: address, body: Array("\(index)".utf8)) { result in
                    statuses.append((try? result.get().status) ?? -1)
                    if statuses.count == 10 { done(statuses) }
                }
            }
        }
        XCTAssertEqual(results, Array(repeating: 200, count: 10))
        XCTAssertLessThanOrEqual(try loopThread.sync { self.server.connectionCount }, 2)
    }

    /// Both connections carry slow requests: a third, queued behind them, fails at its own
    /// timeout, counted from when it was asked, not 3 s later when a connection frees up.
    func testARequestWaitingForAConnection_failsAtItsOwnTimeout() throws {
        let outcome = loopThread.await(timeout: 20) { [self] (done: @escaping ((HTTPClientError.Kind?, UInt64)) -> Void) in
            for _ in 0..<2 { client.request(.get, "/slow", to: address, timeoutMilliseconds: 10_000) { _ in } }
            let askedAt = loopThread.loop.nowMilliseconds
            client.request(.get, "/echo", to: address, timeoutMilliseconds: 300) { [self] result in
                guard case .failure(let error) = result else { return done((nil, 0)) }
                done((error.kind, loopThread.loop.nowMilliseconds - askedAt))
            }
        }
        let (kind, waited) = try XCTUnwrap(outcome)
        XCTAssertEqual(kind, .requestTimeout)
        XCTAssertLessThan(waited, 2_000, "the queued request waited for a connection past its timeout")
    }

    /// Headers made for a request (a signature with its time) are made when it is sent: one
    /// that waited for a connection goes out with the time it left, not the time it was asked.
    func testHeadersAreMadeWhenTheRequestIsSent_notWhenItIsQueued() throws {
        let stamps = loopThread.await(timeout: 20) { [self] (done: @escaping ([UInt64]) -> Void) in
            client.headersFor = { [loop = loopThread.loop] _, _, _ in [("X-Sent-At", String(loop.nowMilliseconds))] }
            var sentAt: [UInt64] = []
            let askedAt = loopThread.loop.nowMilliseconds
            for _ in 0..<2 { client.request(.get, "/slow", to: address, timeoutMilliseconds: 10_000) { _ in } }
            client.request(.post, "/echo-header", to: address, timeoutMilliseconds: 10_000) { result in
                let stamp = (try? result.get().bodyText).flatMap { UInt64($0) } ?? 0
                sentAt = [askedAt, stamp]
                done(sentAt)
            }
        }
        let values = try XCTUnwrap(stamps)
        XCTAssertGreaterThanOrEqual(values[1], values[0] + 2_500, "the header was made when the request was queued")
    }

    /// A node stopping closes its client: a request still unanswered must fail at once and its
    /// connection close, not wait for its timeout (it held a stopping node's loop for 30 s).
    func testClosingTheClientFailsARequestInFlight_andClosesItsConnection() throws {
        let silent = try SilentServer(loopThread)
        defer { silent.stop() }
        nonisolated(unsafe) var result: Result<HTTPResponseParser.Response, HTTPClientError>?
        try loopThread.sync { [self] in
            client.request(.get, "/", to: silent.address, timeoutMilliseconds: 600_000) { result = $0 }
        }
        XCTAssertTrue(silent.waitUntil { $0.bytesRead > 0 }, "the request never reached the server")
        try loopThread.sync { self.client.close() }
        guard case .failure(let error) = try XCTUnwrap(result, "closing left the request waiting") else { return XCTFail("expected a failure") }
        XCTAssertEqual(error.kind, .closed)
        XCTAssertTrue(silent.waitUntil { $0.ended == 1 }, "the connection stayed open")
    }

    func testClosingTheClientWhileItConnects_failsTheRequestAndSendsNothing() throws {
        let silent = try SilentServer(loopThread)
        defer { silent.stop() }
        let result = loopThread.await(timeout: 60) { [self] (done: @escaping (Result<HTTPResponseParser.Response, HTTPClientError>) -> Void) in
            client.request(.get, "/", to: silent.address, timeoutMilliseconds: 600_000) { done($0) }
            client.close()
        }
        guard case .failure(let error) = try XCTUnwrap(result, "closing left the request waiting") else { return XCTFail("expected a failure") }
        XCTAssertEqual(error.kind, .closed)
        XCTAssertEqual(try loopThread.sync { silent.bytesRead }, 0)
    }
}

/// Accepts connections and never answers; counts what it read and which connections ended.
private final class SilentServer: @unchecked Sendable {
    // @unchecked Sendable: its state is only touched on the loop thread, through `loopThread`.
    private let loopThread: LoopThread
    private var listener: TCPListener?
    private var accepted: [TCPConnection] = []
    private(set) var bytesRead = 0
    private(set) var ended = 0
    private(set) var address: SocketAddress!

    init(_ loopThread: LoopThread) throws {
        self.loopThread = loopThread
        try loopThread.sync { [self] in
            let listener = try TCPListener(loop: loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: 0)) { [self] connection in
                accepted.append(connection)
                connection.startReading { [self] event in
                    if case .data(let bytes) = event { bytesRead += bytes.count } else { ended += 1 }
                }
            }
            address = listener.localAddress
            self.listener = listener
        }
    }

    /// Polls `condition` on the loop thread for up to 10 s.
    func waitUntil(_ condition: @escaping (SilentServer) -> Bool) -> Bool {
        for _ in 0..<500 {
            if (try? loopThread.sync { condition(self) }) == true { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    func stop() {
        try? loopThread.sync { [self] in
            listener?.close()
            for connection in accepted { connection.close() }
        }
    }
}
