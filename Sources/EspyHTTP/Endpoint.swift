/// A request handler that answers, now or later on the loop, by calling `reply` once.
public typealias Endpoint = (HTTPRequest, @escaping (HTTPResponse) -> Void) -> Void
