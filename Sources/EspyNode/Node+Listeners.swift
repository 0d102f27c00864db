import EspyAPI
import EspyHTTPServer
import EspyLoop

/// The node's HTTP listeners: the public one's settings (reserved places, metrics and access
/// log on every response) and the optional internal one of `[cluster] internal_address`.
extension Node {
    /// The listener of `[cluster] internal_address`: node-to-node requests only.
    func startInternalServer(on address: SocketAddress, serving internalAPI: InternalAPI) throws -> HTTPServer {
        var settings = httpSettings()
        settings.address = address
        do {
            return try HTTPServer(loop: loop, settings: settings) { request, reply in
                guard request.path.hasPrefix(InternalAPI.pathPrefix) else {
                    return reply(.error(.notFound, "this address serves node-to-node requests (\(InternalAPI.pathPrefix)*) only; clients use the HTTP address"))
                }
                internalAPI.handle(request, reply: reply)
            }
        } catch {
            throw ListenerStartError(listener: "cluster.internal_address", address: address, cause: error)
        }
    }

    func httpSettings() -> HTTPServerSettings {
        var settings = config.http.server
        settings.reservedPathPrefixes = [InternalAPI.pathPrefix, "/metrics", "/v1/ready", "/v1/health", "/v1/cluster/"]
        let accessLog = config.http.accessLog && logger.logLevel <= .info ? AccessLog(label: logger.label) : nil
        settings.onResponse = { [unowned self] entry in
            metrics.observe(entry)
            accessLog?.record(entry)
        }
        return settings
    }
}

/// The gossip port or the internal listener could not be bound: said with the address, as a
/// taken HTTP port is.
struct ListenerStartError: Error, CustomStringConvertible {
    let listener: String
    let address: SocketAddress
    let cause: LoopError

    var description: String {
        "\(listener) \(address): " + (cause.name == "EADDRINUSE" ? "address in use" : cause.description)
    }
}
