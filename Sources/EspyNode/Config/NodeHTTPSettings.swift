import EspyHTTPServer
import EspyLoop

/// Config `[http]`: the server's own settings (their defaults are the server's) plus what only
/// a node needs, its advertised address and access log.
public struct NodeHTTPSettings {
    /// Loopback, so a node started without configuration is not reachable from other hosts.
    public static let defaultAddress = try! SocketAddress(host: "127.0.0.1", port: 8888)

    public var server = HTTPServerSettings(address: NodeHTTPSettings.defaultAddress)
    /// The HTTP address peers and operators should use for this node; nil means the bound one.
    public var advertise: SocketAddress?
    /// One info-level log line per request (method, path, status, bytes, duration, peer).
    public var accessLog = true
    /// Bearer tokens for operator actions (remove, leave, import with kept server_time). Empty:
    /// those are taken from clients on the node's own host only.
    public var operatorTokens: [String] = []

    public init() {}
}
