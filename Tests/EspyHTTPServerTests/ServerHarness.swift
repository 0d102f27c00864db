import EspyHTTP
import EspyHTTPServer
import EspyLoop
import EspyTestKit
import Foundation
import XCTest

/// The handler the server tests run against. Loop-confined: created and used on the loop
/// thread only; tests read its state through `ServerHarness.sync`.
///
/// Routes (every response echoes the request's `X-Request-Id`):
/// - `GET|POST|PUT /echo`: the request body back, with `X-Method` and `X-Body-Length`.
/// - `GET /fast`: `fast <id>` at once.
/// - `GET /slow?ms=N`: `slow <id>` after an EspyLoop.Timer of N ms.
/// - `GET /stream?chunks=N&size=S[&async=1]`: a `ResponseBodyStream` of N chunks of S bytes,
///   chunk i filled with `TestStream.fill(i)`; with `async=1` each chunk is handed over later,
///   from `runBlocking`'s completion, instead of inside `nextChunk`.
/// - `GET /get-only`: `only GET` (for 405, HEAD).
/// - `GET /big?bytes=N`: N bytes known up front (Content-Length), byte k = `TestStream.fill(k / 10240)`.
/// Anything else: 404, or 405 with `Allow`, from `EspyHTTP.Router`.
final class TestRoutes {
    typealias Route = (HTTPRequest, @escaping (HTTPResponse) -> Void) -> Void

    let loop: EventLoop
    private var router = Router()
    private var timers: [ObjectIdentifier: EspyLoop.Timer] = [:]
    /// Request ids in the order their handlers replied.
    private(set) var replyOrder: [String] = []
    private(set) var streams: [TestStream] = []
    private(set) var requestsSeen = 0

    init(loop: EventLoop) {
        self.loop = loop
        for method in [HTTPMethod.get, .post, .put] {
            router.add(method, "/echo") { request, reply in
                reply(HTTPResponse(status: .ok, headers: [("X-Method", request.method.description),
                                                          ("X-Body-Length", String(request.body.count))],
                                   body: .bytes(request.body)))
            }
        }
        router.add(.get, "/fast") { request, reply in reply(.init(body: .bytes(Array("fast \(request.id)".utf8)))) }
        router.add(.get, "/get-only") { _, reply in reply(.init(body: .bytes(Array("only GET".utf8)))) }
        router.add(.get, "/big") { request, reply in
            let count = Int(request.queryParameter("bytes") ?? "") ?? 1_000_000
            reply(.init(body: .bytes((0..<count).map { TestStream.fill($0 / 10_240) })))
        }
        router.add(.get, "/slow") { [unowned self] request, reply in
            let delay = UInt64(request.queryParameter("ms") ?? "") ?? 500
            let timer = EspyLoop.Timer(loop: self.loop)
            self.timers[ObjectIdentifier(timer)] = timer
            timer.start(after: delay) { [unowned self, unowned timer] in
                self.timers[ObjectIdentifier(timer)] = nil
                timer.close()
                reply(.init(body: .bytes(Array("slow \(request.id)".utf8))))
            }
        }
        router.add(.get, "/stream") { [unowned self] request, reply in
            let stream = TestStream(loop: self.loop,
                                    chunks: Int(request.queryParameter("chunks") ?? "") ?? 10,
                                    size: Int(request.queryParameter("size") ?? "") ?? 1024,
                                    async: request.queryParameter("async") == "1")
            self.streams.append(stream)
            reply(HTTPResponse(status: .ok, headers: [("Content-Type", "application/octet-stream")], body: .stream(stream)))
        }
    }

    func handle(_ request: HTTPRequest, _ reply: @escaping (HTTPResponse) -> Void) {
        requestsSeen += 1
        let id = request.id
        let tagged: (HTTPResponse) -> Void = { [weak self] response in
            self?.replyOrder.append(id)
            var response = response
            response.headers.append(("X-Request-Id", id))
            reply(response)
        }
        switch router.match(request.method, path: request.path) {
        case .endpoint(let route):
            route(request, tagged)
        case .methodNotAllowed(let allowed):
            tagged(.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path)",
                          headers: [("Allow", allowed.map(\.description).joined(separator: ", "))]))
        case .notFound:
            tagged(.error(.notFound, "no route for \(request.path)"))
        }
    }

    /// Closes every timer still pending (their requests are never answered).
    func closeTimers() {
        for timer in timers.values { timer.close() }
        timers.removeAll()
    }
}

extension HTTPRequest {
    var id: String { headers["x-request-id"] ?? "-" }
}

/// A body stream of `chunks` chunks of `size` bytes. Records how far the server pulled it and
/// how deep the stack got between chunks (synchronous delivery must not recurse per chunk).
final class TestStream: ResponseBodyStream {
    let loop: EventLoop
    let chunks: Int
    let size: Int
    let async: Bool
    private(set) var produced = 0
    private(set) var finished = false
    private(set) var cancelled = false
    private var firstFrame: UInt?
    /// Greatest stack growth seen in `nextChunk` relative to its first call, in bytes.
    private(set) var maxStackGrowth = 0

    init(loop: EventLoop, chunks: Int, size: Int, async: Bool) {
        self.loop = loop
        self.chunks = chunks
        self.size = size
        self.async = async
    }

    static func fill(_ index: Int) -> UInt8 { UInt8(ascii: "A") + UInt8(index % 26) }

    func nextChunk(_ deliver: @escaping (Result<[UInt8]?, Error>) -> Void) {
        var marker = 0
        let frame = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
        if let firstFrame { maxStackGrowth = max(maxStackGrowth, Int(firstFrame) - Int(frame)) } else { firstFrame = frame }

        guard produced < chunks else {
            finished = true
            return deliver(.success(nil))
        }
        let chunk = [UInt8](repeating: TestStream.fill(produced), count: size)
        produced += 1
        if async {
            loop.runBlocking({ chunk }, completion: { deliver(.success($0)) })
        } else {
            deliver(.success(chunk))
        }
    }

    func cancel() { cancelled = true }

    var totalBytes: Int { chunks * size }
}

/// Thread-safe list of access-log entries (the callback runs on the loop thread).
final class AccessLogRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [AccessLogEntry] = []

    func append(_ entry: AccessLogEntry) {
        lock.lock()
        stored.append(entry)
        lock.unlock()
    }

    var entries: [AccessLogEntry] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

/// An HTTPServer with `TestRoutes` on its own LoopThread, on 127.0.0.1 and an ephemeral port.
final class ServerHarness: @unchecked Sendable {
    let loopThread: LoopThread
    let server: HTTPServer
    let routes: TestRoutes
    let port: Int
    let accessLog = AccessLogRecorder()
    private var stopped = false

    init(configure: (inout HTTPServerSettings) -> Void = { _ in }) throws {
        SIGPIPEWatch.install()
        loopThread = try LoopThread()
        loopThread.start()
        var settings = HTTPServerSettings(address: try SocketAddress(host: "127.0.0.1", port: 0))
        settings.shutdownGraceMilliseconds = 2_000
        configure(&settings)
        let recorder = accessLog
        let previous = settings.onResponse
        settings.onResponse = { entry in
            recorder.append(entry)
            previous?(entry)
        }
        let configured = settings
        let loopThread = self.loopThread
        let created: (HTTPServer, TestRoutes, Int)
        do {
            created = try loopThread.sync { () throws -> (HTTPServer, TestRoutes, Int) in
                let routes = TestRoutes(loop: loopThread.loop)
                let server = try HTTPServer(loop: loopThread.loop, settings: configured) { request, reply in
                    routes.handle(request, reply)
                }
                return (server, routes, server.localAddress!.port)
            }
        } catch {
            loopThread.stop()
            throw error
        }
        server = created.0
        routes = created.1
        port = created.2
    }

    /// Runs `body` on the loop thread with the server and routes.
    func sync<T>(_ body: @escaping (HTTPServer, TestRoutes) throws -> T) throws -> T {
        try loopThread.sync { [server, routes] in try body(server, routes) }
    }

    func client(receiveTimeout: TimeInterval = 10) throws -> RawHTTPClient {
        try RawHTTPClient(port: port, receiveTimeout: receiveTimeout)
    }

    /// Shuts the server down, closes the routes' timers and joins the loop thread. Fails the
    /// test instead of hanging when a handle stays open.
    func stop(timeout: TimeInterval = 15, file: StaticString = #filePath, line: UInt = #line) {
        guard !stopped else { return }
        stopped = true
        let done = DispatchSemaphore(value: 0)
        let loopThread = self.loopThread
        let stopper = Thread { [server, routes] in
            loopThread.stop {
                server.shutdown {}
                routes.closeTimers()
            }
            done.signal()
        }
        stopper.start()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            XCTFail("server loop did not stop within \(timeout) s: a handle stayed open", file: file, line: line)
        }
    }
}

// MARK: - Reading raw responses

/// Reads responses off a RawHTTPClient keeping unconsumed bytes, so a bodyless (HEAD) response
/// can be followed by the next one, and reports how the peer ended the connection.
final class ResponseReader {
    let client: RawHTTPClient
    private(set) var buffer: [UInt8] = []

    init(_ client: RawHTTPClient) { self.client = client }

    func append(_ bytes: [UInt8]) { buffer += bytes }

    /// The next complete response; nil when the connection ended or timed out first.
    func next(bodyless: Bool = false) -> RawHTTPResponse? {
        while true {
            if let (response, consumed) = RawHTTPResponse.parse(buffer, bodyless: bodyless) {
                buffer.removeFirst(consumed)
                return response
            }
            guard let chunk = client.receive() else { return nil }
            buffer += chunk
        }
    }

    func next(_ count: Int) -> [RawHTTPResponse] {
        var responses: [RawHTTPResponse] = []
        while responses.count < count, let response = next() { responses.append(response) }
        return responses
    }

    /// The raw bytes of the next response head (through the blank line), nil if none came.
    func nextHead() -> String? {
        while true {
            if let end = buffer.indexOfCRLFCRLF() {
                let head = String(decoding: buffer[..<(end + 4)], as: UTF8.self)
                buffer.removeFirst(end + 4)
                return head
            }
            guard let chunk = client.receive() else { return nil }
            buffer += chunk
        }
    }

    enum Ending: Equatable {
        /// FIN or RST from the server.
        case closed
        /// Nothing more within the time allowed; the connection is still open.
        case stillOpen
    }

    /// Waits up to `seconds` for the server to end the connection. Bytes arriving meanwhile
    /// are appended to `buffer` (inspect it: nothing more should arrive after a final response).
    func waitForEnd(within seconds: TimeInterval) -> Ending {
        let deadline = Date().addingTimeInterval(seconds)
        defer { client.setReceiveTimeout(10) }
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return .stillOpen }
            client.setReceiveTimeout(max(0.01, min(left, 0.25)))
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = recv(client.fd, &chunk, chunk.count, 0)
            if count > 0 {
                buffer += chunk[0..<count]
            } else if count == 0 {
                return .closed
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                continue
            } else {
                return .closed // ECONNRESET and the like
            }
        }
    }
}

extension Array where Element == UInt8 {
    func indexOfCRLFCRLF() -> Int? {
        guard count >= 4 else { return nil }
        for index in 0...(count - 4) where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 {
            return index
        }
        return nil
    }
}

extension RawHTTPClient {
    /// A small receive buffer, so the kernel cannot soak up a large response for a slow reader.
    func setReceiveBufferSize(_ bytes: Int32) {
        var size = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sends FIN: the server sees the end of the request stream (and ends a lingering close).
    func finishSending() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Everything the server sends until it closes the connection (or `timeout` of silence).
    func receiveUntilClosed() -> [UInt8] {
        var all: [UInt8] = []
        while let chunk = receive() { all += chunk }
        return all
    }
}

/// A request with the given method, target, headers and body (Content-Length added when a body is given).
func request(_ method: String = "GET", _ target: String, id: String? = nil, headers: [String] = [],
             body: String? = nil, version: String = "HTTP/1.1") -> String {
    var lines = ["\(method) \(target) \(version)", "Host: test"]
    if let id { lines.append("X-Request-Id: \(id)") }
    lines += headers
    if let body { lines.append("Content-Length: \(body.utf8.count)") }
    return lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? "")
}

/// Seconds since `start`.
func elapsed(since start: Date) -> TimeInterval { Date().timeIntervalSince(start) }

extension XCTestCase {
    /// A running server, stopped (with every handle closed) when the test ends.
    func startServer(_ configure: (inout HTTPServerSettings) -> Void = { _ in }) throws -> ServerHarness {
        let harness = try ServerHarness(configure: configure)
        addTeardownBlock { harness.stop() }
        return harness
    }

    /// Polls `condition` until it holds or `timeout` passes.
    @discardableResult
    func waitUntil(timeout: TimeInterval = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return try condition()
    }
}
