import EspyHTTP
import EspyLoop

/// Serves HTTP/1.1 on one loop: accepts connections, enforces connection limits and timeouts,
/// and hands complete requests to the handler. Responses may be produced later (after storage
/// work) by calling the reply closure on the loop thread.
public final class HTTPServer {
    public typealias Handler = (HTTPRequest, @escaping (HTTPResponse) -> Void) -> Void

    public let loop: EventLoop
    public let settings: HTTPServerSettings
    let handler: Handler
    /// The settings every connection's machine enforces, derived once.
    let connectionRules: HTTPConnectionRules
    private var listener: TCPListener?
    private var sweepTimer: Timer?
    private var graceTimer: Timer?
    private var connections: [ObjectIdentifier: HTTPServerConnection] = [:]
    /// Connections refused for the limit, lingering until the client has read the 503.
    private var refused: [ObjectIdentifier: HTTPServerConnection] = [:]
    private var onDrained: (() -> Void)?
    private(set) var isShuttingDown = false
    /// The Date header, refreshed by the sweep timer rather than formatted per response.
    private(set) var dateHeader: String

    public var localAddress: SocketAddress? { listener?.localAddress }
    public var connectionCount: Int { connections.count }

    public init(loop: EventLoop, settings: HTTPServerSettings, handler: @escaping Handler) throws(LoopError) {
        self.loop = loop
        self.settings = settings
        self.handler = handler
        self.connectionRules = HTTPConnectionRules(
            settings: settings, refusalMessage: HTTPServer.tooManyConnections(settings),
            accessLogClock: { EventLoop.monotonicMicroseconds() })
        self.dateHeader = HTTPServer.currentDate()
        listener = try TCPListener(loop: loop, address: settings.address) { [unowned self] connection in
            self.accept(connection)
        }
        let timer = Timer(loop: loop)
        timer.unreference()
        timer.start(after: 1000, repeat: 1000) { [unowned self] in self.sweep() }
        sweepTimer = timer
    }

    private static func currentDate() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return HTTPResponseEncoder.httpDate(unixSeconds: Int64(now.tv_sec))
    }

    private func accept(_ tcp: TCPConnection) {
        let connection = HTTPServerConnection(server: self, tcp: tcp)
        if isShuttingDown || connections.count >= settings.maxConnections + settings.reservedConnections {
            // Answered after reading what the client sent, then closed: closing at once with its
            // request unread would reset the connection and the client would never see the 503.
            // Kept apart, so that a flood of refusals does not take the places they are refused.
            refused[ObjectIdentifier(connection)] = connection
            return connection.refuse(HTTPResponse.error(.serviceUnavailable, isShuttingDown ? "server is shutting down" : connectionRules.refusalMessage))
        }
        connections[ObjectIdentifier(connection)] = connection
        connection.start(reservedOnly: connections.count > settings.maxConnections)
    }

    /// A connection refused in a reserved place lingers over its 503 without holding the place.
    func releasePlace(of connection: HTTPServerConnection) {
        guard let released = connections.removeValue(forKey: ObjectIdentifier(connection)) else { return }
        refused[ObjectIdentifier(connection)] = released
    }

    private static func tooManyConnections(_ settings: HTTPServerSettings) -> String {
        "too many connections (limit \(settings.maxConnections)); retry later"
    }

    func connectionDidClose(_ connection: HTTPServerConnection) {
        connections[ObjectIdentifier(connection)] = nil
        refused[ObjectIdentifier(connection)] = nil
        if isShuttingDown && connections.isEmpty && refused.isEmpty { finishShutdown() }
    }

    private func sweep() {
        dateHeader = HTTPServer.currentDate()
        let now = loop.nowMilliseconds
        for connection in Array(connections.values) + Array(refused.values) { connection.checkTimeouts(now: now) }
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), then calls
    /// `completion` once every connection is closed.
    public func shutdown(_ completion: @escaping () -> Void) {
        guard !isShuttingDown else {
            if let previous = onDrained {
                onDrained = { previous(); completion() }
            } else {
                completion()  // already drained
            }
            return
        }
        isShuttingDown = true
        onDrained = completion
        listener?.close()
        listener = nil
        for connection in Array(connections.values) { connection.beginShutdown() }
        if connections.isEmpty && refused.isEmpty {
            finishShutdown()
            return
        }
        // The sweep keeps running meanwhile, so lingering closes still finish on time.
        let grace = Timer(loop: loop)
        graceTimer = grace
        grace.start(after: settings.shutdownGraceMilliseconds) { [unowned self] in
            for connection in Array(self.connections.values) + Array(self.refused.values) { connection.forceClose() }
        }
    }

    private func finishShutdown() {
        sweepTimer?.close()
        sweepTimer = nil
        graceTimer?.close()
        graceTimer = nil
        let completion = onDrained
        onDrained = nil
        completion?()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
