/// Maps method and path to a handler. Routes are registered up front, then the router is only read.
public struct Router<Handler> {
    private var routes: [String: [(method: HTTPMethod, handler: Handler)]] = [:]

    public init() {}

    public mutating func add(_ method: HTTPMethod, _ path: String, _ handler: Handler) {
        routes[path, default: []].append((method, handler))
    }

    /// Every path registered, for labelling metrics from the same table that routes requests.
    public var paths: [String] { routes.keys.sorted() }

    public enum Match {
        case handler(Handler)
        /// The path exists but not for this method; `allowed` goes into the `Allow` header.
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    /// HEAD is served by the GET handler; the server drops the body.
    public func match(_ method: HTTPMethod, path: String) -> Match {
        guard let candidates = routes[path] else { return .notFound }
        let wanted = method == .head ? HTTPMethod.get : method
        if let route = candidates.first(where: { $0.method == wanted }) { return .handler(route.handler) }
        var allowed = candidates.map(\.method)
        if allowed.contains(.get) { allowed.append(.head) }
        return .methodNotAllowed(allowed: allowed)
    }
}
