import EspyHTTP
import EspyLoop

/// The connections to one server: reuses idle keep-alive connections, opens new ones up to the
/// limit, and queues requests beyond it.
final class ConnectionPool {
    /// Weak: a connection still connecting holds its pool after the client closed.
    private weak var client: HTTPClient?
    let server: SocketAddress
    private var idle: [ClientConnection] = []
    private var openCount = 0
    private var waiting: [PendingRequest] = []

    init(client: HTTPClient, server: SocketAddress) {
        self.client = client
        self.server = server
    }

    func submit(_ request: PendingRequest) {
        guard let client else { return request.finish(.failure(HTTPClientError(.closed, "client is closed"))) }
        if let connection = idle.popLast() {
            connection.send(request)
        } else if openCount < client.settings.maxConnectionsPerServer {
            openCount += 1
            ClientConnection.open(pool: self, loop: client.loop, settings: client.settings, first: request)
        } else {
            waiting.append(request)
        }
    }

    /// A connection finished its request and may carry another.
    func connectionIsFree(_ connection: ClientConnection) {
        if !waiting.isEmpty {
            connection.send(waiting.removeFirst())
        } else {
            idle.append(connection)
        }
    }

    /// A connection is gone (closed, failed, timed out, or never opened).
    func connectionDidClose(_ connection: ClientConnection?) {
        openCount -= 1
        if let connection { idle.removeAll { $0 === connection } }
        guard let client else { return close() }
        if !waiting.isEmpty, openCount < client.settings.maxConnectionsPerServer {
            openCount += 1
            ClientConnection.open(pool: self, loop: client.loop, settings: client.settings, first: waiting.removeFirst())
        }
    }

    func close() {
        for request in waiting { request.finish(.failure(HTTPClientError(.closed, "client closed"))) }
        waiting = []
        for connection in idle { connection.close() }
        idle = []
    }
}
