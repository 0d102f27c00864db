import EspyHTTP
import EspyLoop

/// How an HTTP server listens and what it tolerates; every limit has the default a node uses.
public struct HTTPServerSettings {
    public var address: SocketAddress
    /// Connections beyond this are answered 503 and closed at once, so the ones already open
    /// keep their share of the loop.
    public var maxConnections: Int = 4096
    /// Connections beyond `maxConnections` kept for requests under `reservedPathPrefixes`
    /// (node-to-node traffic, metrics, readiness), so clients filling every place do not shut
    /// the other nodes and the operator out. Such a connection is served only if its first
    /// request arrives within `reservedFirstRequestMilliseconds` and is under a reserved path.
    public var reservedConnections: Int = 256
    public var reservedPathPrefixes: [String] = []
    public var reservedFirstRequestMilliseconds: UInt64 = 2_000
    /// A keep-alive connection with no request in progress is closed after this long.
    public var idleTimeoutMilliseconds: UInt64 = 60_000
    /// A request must arrive whole within this long of its first byte, or it gets 408.
    public var requestTimeoutMilliseconds: UInt64 = 30_000
    /// In-flight requests get this long to finish after shutdown begins.
    public var shutdownGraceMilliseconds: UInt64 = 10_000
    /// Pipelined requests read ahead of their responses before reading pauses.
    public var maxPipelinedRequests: Int = 128
    public var limits = HTTPRequestParser.Limits()
    /// Called once per finished response, for access logs and metrics.
    public var onResponse: ((AccessLogEntry) -> Void)? = nil

    public init(address: SocketAddress) {
        self.address = address
    }
}

/// What the access log records about one request.
public struct AccessLogEntry: Sendable {
    public let method: String
    public let path: String
    public let status: Int
    public let bodyBytes: Int
    public let durationMicroseconds: UInt64
    public let peer: String

    public var durationMilliseconds: UInt64 { durationMicroseconds / 1000 }
}
