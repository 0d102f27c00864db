import EspyHTTP
import EspyLoop

/// One client connection: sends a request, reads its response, then goes back to the pool
/// (keep-alive) or closes. A timer bounds connecting, each request and idleness.
final class ClientConnection {
    /// Weak: a response's completion may close the client (the node shutting down), and the
    /// pool with it, while this connection is still reading.
    private weak var pool: ConnectionPool?
    private let server: SocketAddress
    private let settings: HTTPClient.Settings
    private let tcp: TCPConnection
    private let timer: Timer
    private let parser: HTTPResponseParser
    private var current: PendingRequest?
    private var isClosed = false

    private init(pool: ConnectionPool, settings: HTTPClient.Settings, tcp: TCPConnection, timer: Timer) {
        self.pool = pool
        self.server = pool.server
        self.settings = settings
        self.tcp = tcp
        self.timer = timer
        self.parser = HTTPResponseParser(maxBodyBytes: settings.maxResponseBodyBytes)
    }

    static func open(pool: ConnectionPool, loop: EventLoop, settings: HTTPClient.Settings, first request: PendingRequest) {
        let timer = Timer(loop: loop)
        var connected = false
        timer.start(after: settings.connectTimeoutMilliseconds) {
            guard !connected else { return }
            connected = true  // from here on the connect callback is stale
            timer.close()
            pool.connectionDidClose(nil)
            request.finish(.failure(HTTPClientError(.connectTimeout, "connecting to \(pool.server) timed out")))
        }
        TCPConnection.connect(loop: loop, to: pool.server) { result in
            guard !connected else {
                if case .success(let tcp) = result { tcp.close() }
                return
            }
            connected = true
            switch result {
            case .failure(let error):
                timer.close()
                pool.connectionDidClose(nil)
                request.finish(.failure(HTTPClientError(.connectFailed, "cannot connect to \(pool.server): \(error.name)")))
            case .success(let tcp) where pool.isClosed:
                tcp.close()
                timer.close()
                request.finish(.failure(HTTPClientError(.closed, "client closed")))
            case .success(let tcp):
                tcp.setNoDelay(true)
                let connection = ClientConnection(pool: pool, settings: settings, tcp: tcp, timer: timer)
                pool.connectionDidOpen(connection)
                // The read callback owns the connection until the socket closes, which drops it.
                tcp.startReading { event in connection.handle(event) }
                connection.send(request)
            }
        }
    }

    func send(_ request: PendingRequest) {
        guard !isClosed else {
            return request.finish(.failure(HTTPClientError(.connectionLost, "connection to \(server) closed")))
        }
        current = request
        parser.expectsBodylessResponse = request.isHead
        timer.start(after: request.deadline - min(request.deadline, tcp.loop.nowMilliseconds)) { [unowned self] in
            self.fail(HTTPClientError(.requestTimeout, "no complete response from \(server) in time"))
        }
        tcp.write(request.bytes()) { [weak self] error in
            if let error { self?.fail(HTTPClientError(.connectionLost, "sending to \(self?.server.description ?? "?"): \(error.name)")) }
        }
    }

    private func handle(_ event: TCPConnection.ReadEvent) {
        let outcome: Result<[HTTPResponseParser.Response], HTTPResponseParser.Failure>
        switch event {
        case .data(let bytes): outcome = parser.feed(bytes)
        case .end: outcome = parser.finish()
        case .failed(let error): return fail(HTTPClientError(.connectionLost, "reading from \(server): \(error.name)"))
        }
        switch outcome {
        case .failure(let failure):
            fail(HTTPClientError(.malformedResponse, "\(server): \(failure)"))
        case .success(let responses):
            guard let response = responses.first, let request = current else {
                if case .end = event { fail(HTTPClientError(.connectionLost, "\(server) closed the connection")) }
                return
            }
            current = nil
            request.finish(.success(response))
            if response.keepAlive, case .data = event {
                guard let pool else { return close() }
                timer.start(after: settings.idleTimeoutMilliseconds) { [unowned self] in self.close() }
                pool.connectionIsFree(self)
            } else {
                close()
            }
        }
    }

    /// The client closed: the request in flight, if any, fails with `error`.
    func abandon(_ error: HTTPClientError) { fail(error) }

    private func fail(_ error: HTTPClientError) {
        let request = current
        current = nil
        close()
        request?.finish(.failure(error))
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        timer.close()
        tcp.close()
        pool?.connectionDidClose(self)
    }
}
