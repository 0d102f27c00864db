/// Maps method and path to an endpoint. Routes are registered up front, then only read.
///
/// Endpoints are kept in a class: a closure stored directly in a generic container (an array,
/// a dictionary) is kept at the most general abstraction, and every call through it wrapped
/// the request and the reply in new thunks, three allocations per request (perf, on the
/// health check).
public struct Router {
    private final class Route {
        let method: HTTPMethod
        let endpoint: Endpoint
        init(method: HTTPMethod, endpoint: @escaping Endpoint) {
            self.method = method
            self.endpoint = endpoint
        }
    }

    private var routes: [String: [Route]] = [:]

    public init() {}

    public mutating func add(_ method: HTTPMethod, _ path: String, _ endpoint: @escaping Endpoint) {
        routes[path, default: []].append(Route(method: method, endpoint: endpoint))
    }

    /// Every path registered, for labelling metrics from the same table that routes requests.
    public var paths: [String] { routes.keys.sorted() }

    public enum Match {
        case endpoint(Endpoint)
        /// The path exists but not for this method; `allowed` goes into the `Allow` header.
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    /// HEAD is served by the GET endpoint; the server drops the body.
    public func match(_ method: HTTPMethod, path: String) -> Match {
        guard let candidates = routes[path] else { return .notFound }
        let wanted = method == .head ? HTTPMethod.get : method
        if let route = candidates.first(where: { $0.method == wanted }) { return .endpoint(route.endpoint) }
        var allowed = candidates.map(\.method)
        if allowed.contains(.get) { allowed.append(.head) }
        return .methodNotAllowed(allowed: allowed)
    }

    /// Runs the matching endpoint; a known path with the wrong method gets 405 and `Allow`,
    /// an unknown path goes to `notFound` (404 unless the caller has somewhere else to send it).
    public func dispatch(_ request: HTTPRequest, reply: @escaping (HTTPResponse) -> Void,
                         notFound: Endpoint = Router.answerNotFound) {
        switch match(request.method, path: request.path) {
        case .endpoint(let endpoint):
            endpoint(request, reply)
        case .methodNotAllowed(let allowed):
            let names = allowed.map(\.description).joined(separator: ", ")
            reply(.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path); use \(names)",
                         headers: [("Allow", names)]))
        case .notFound:
            notFound(request, reply)
        }
    }

    public static func answerNotFound(_ request: HTTPRequest, _ reply: @escaping (HTTPResponse) -> Void) {
        reply(.error(.notFound, "no such endpoint: \(request.path)"))
    }
}
