import EspyHTTP
import EspyLoop

/// The connections to one server: reuses idle keep-alive connections, opens new ones up to the
/// limit, and queues requests beyond it.
final class ConnectionPool {
    /// Weak: a connection still connecting holds its pool after the client closed.
    private weak var client: HTTPClient?
    let server: SocketAddress
    /// Every connected connection, idle or carrying a request: closing the pool closes them all,
    /// so that no late response or idle timer keeps a stopping node's loop running.
    private var connections: [ObjectIdentifier: ClientConnection] = [:]
    private var idle: [ClientConnection] = []
    private var openCount = 0
    private var waiting: [PendingRequest] = []
    private(set) var isClosed = false

    init(client: HTTPClient, server: SocketAddress) {
        self.client = client
        self.server = server
    }

    func submit(_ request: PendingRequest) {
        guard let client, !isClosed else { return request.finish(.failure(HTTPClientError(.closed, "client is closed"))) }
        if let connection = idle.popLast() {
            connection.send(request)
        } else if openCount < client.settings.maxConnectionsPerServer {
            openCount += 1
            ClientConnection.open(pool: self, loop: client.loop, settings: client.settings, first: request)
        } else {
            wait(request, loop: client.loop)
        }
    }

    /// Queues `request` until a connection is free, and fails it at its deadline if none is.
    private func wait(_ request: PendingRequest, loop: EventLoop) {
        let timer = Timer(loop: loop)
        request.queueTimer = timer
        waiting.append(request)
        // Holds the request: the cycle ends when it finishes, which closes and drops the timer.
        timer.start(after: request.deadline - min(request.deadline, loop.nowMilliseconds)) { [weak self, request] in
            self?.waiting.removeAll { $0 === request }
            request.finish(.failure(HTTPClientError(.requestTimeout, "no connection to \(self?.server.description ?? "?") was free in time")))
        }
    }

    /// The next waiting request, its queue timer stopped.
    private func nextWaiting() -> PendingRequest {
        let request = waiting.removeFirst()
        request.queueTimer?.close()
        request.queueTimer = nil
        return request
    }

    func connectionDidOpen(_ connection: ClientConnection) {
        connections[ObjectIdentifier(connection)] = connection
    }

    /// A connection finished its request and may carry another.
    func connectionIsFree(_ connection: ClientConnection) {
        if isClosed {
            connection.close()
        } else if !waiting.isEmpty {
            connection.send(nextWaiting())
        } else {
            idle.append(connection)
        }
    }

    /// A connection is gone (closed, failed, timed out, or never opened).
    func connectionDidClose(_ connection: ClientConnection?) {
        openCount -= 1
        if let connection {
            connections[ObjectIdentifier(connection)] = nil
            idle.removeAll { $0 === connection }
        }
        guard !isClosed else { return }
        guard let client else { return close() }
        if !waiting.isEmpty, openCount < client.settings.maxConnectionsPerServer {
            openCount += 1
            ClientConnection.open(pool: self, loop: client.loop, settings: client.settings, first: nextWaiting())
        }
    }

    /// Fails every request not yet answered and closes every connection, busy ones too.
    func close() {
        isClosed = true
        let closed = HTTPClientError(.closed, "client closed")
        for request in waiting { request.finish(.failure(closed)) }
        waiting = []
        idle = []
        for connection in Array(connections.values) { connection.abandon(closed) }
        connections = [:]
    }
}
