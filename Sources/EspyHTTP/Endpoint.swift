/// A request handler that answers, now or later on the loop, by calling `reply` once.
public typealias Endpoint = (HTTPRequest, @escaping (HTTPResponse) -> Void) -> Void

extension Router where Handler == Endpoint {
    /// Runs the matching endpoint; a known path with the wrong method gets 405 and `Allow`,
    /// an unknown path goes to `notFound` (404 unless the caller has somewhere else to send it).
    public func dispatch(_ request: HTTPRequest, reply: @escaping (HTTPResponse) -> Void,
                         notFound: Endpoint = Router.answerNotFound) {
        switch match(request.method, path: request.path) {
        case .handler(let endpoint):
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
