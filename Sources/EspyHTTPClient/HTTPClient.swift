import EspyHTTP
import EspyLoop

/// An HTTP/1.1 client on the loop with a keep-alive connection pool per server address,
/// connect and request timeouts, and a bound on concurrent connections per server (requests
/// beyond it wait for a free connection).
public final class HTTPClient {
    public struct Settings: Sendable {
        public var connectTimeoutMilliseconds: UInt64 = 2_000
        /// From sending the request to having the whole response.
        public var requestTimeoutMilliseconds: UInt64 = 30_000
        public var maxConnectionsPerServer = 8
        /// Idle pooled connections are closed after this long.
        public var idleTimeoutMilliseconds: UInt64 = 30_000
        public var maxResponseBodyBytes = 1 << 30

        public init() {}
    }

    public typealias Completion = (Result<HTTPResponseParser.Response, HTTPClientError>) -> Void

    public let loop: EventLoop
    public let settings: Settings
    private var pools: [SocketAddress: ConnectionPool] = [:]
    private var isClosed = false
    /// Headers every request also carries, made from it (a signature, say).
    public var headersFor: ((_ method: HTTPMethod, _ target: String, _ body: [UInt8]) -> [(name: String, value: String)])?

    public init(loop: EventLoop, settings: Settings = Settings()) {
        self.loop = loop
        self.settings = settings
    }

    /// Sends one request; `completion` runs once on the loop with the response or the error.
    /// `timeoutMilliseconds` overrides the settings' request timeout for this request.
    public func request(_ method: HTTPMethod, _ target: String, to server: SocketAddress,
                        headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                        timeoutMilliseconds: UInt64? = nil, completion: @escaping Completion) {
        guard !isClosed else { return completion(.failure(HTTPClientError(.closed, "client is closed"))) }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(server)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let timeout = timeoutMilliseconds ?? settings.requestTimeoutMilliseconds
        let pending = PendingRequest(method: method, target: target, head: head, body: body, headersFor: headersFor,
                                     deadline: loop.nowMilliseconds + timeout, completion: completion)
        pool(for: server).submit(pending)
    }

    private func pool(for server: SocketAddress) -> ConnectionPool {
        if let pool = pools[server] { return pool }
        let pool = ConnectionPool(client: self, server: server)
        pools[server] = pool
        return pool
    }

    /// Closes every pooled connection and fails requests still waiting.
    public func close() {
        isClosed = true
        for pool in pools.values { pool.close() }
        pools = [:]
    }
}

/// Why a request got no response.
public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case connectFailed, connectTimeout, requestTimeout, connectionLost, malformedResponse, closed
    }

    public let kind: Kind
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// A request from `HTTPClient.request` until its completion runs. Its timeout counts from
/// then, queueing for a connection included, and its bytes are made when it is sent: a request
/// that waited behind slow ones to a peer must neither outlive its caller's patience nor go out
/// with a signature made long before (a peer refuses those as replays).
final class PendingRequest {
    let isHead: Bool
    /// Loop time by which the response must be complete.
    let deadline: UInt64
    private let method: HTTPMethod
    private let target: String
    private let head: String
    private let body: [UInt8]
    private let headersFor: ((_ method: HTTPMethod, _ target: String, _ body: [UInt8]) -> [(name: String, value: String)])?
    private var completion: HTTPClient.Completion?
    /// Runs while the request waits for a connection.
    var queueTimer: Timer?

    init(method: HTTPMethod, target: String, head: String, body: [UInt8],
         headersFor: ((_ method: HTTPMethod, _ target: String, _ body: [UInt8]) -> [(name: String, value: String)])?,
         deadline: UInt64, completion: @escaping HTTPClient.Completion) {
        self.method = method
        self.target = target
        self.head = head
        self.body = body
        self.headersFor = headersFor
        self.isHead = method == .head
        self.deadline = deadline
        self.completion = completion
    }

    var isFinished: Bool { completion == nil }

    /// The request as it goes out now, with the headers made for it now.
    func bytes() -> [UInt8] {
        var head = self.head
        for (name, value) in headersFor?(method, target, body) ?? [] { head += "\(name): \(value)\r\n" }
        return Array((head + "\r\n").utf8) + body
    }

    /// Delivers the outcome once; later calls are ignored (a timeout racing a response).
    func finish(_ result: Result<HTTPResponseParser.Response, HTTPClientError>) {
        queueTimer?.close()
        queueTimer = nil
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }
}
