import EspyCore

/// A response to send. Bodies are either bytes known up front (sent with Content-Length) or a
/// stream pulled chunk by chunk as the socket drains (sent chunked, so memory stays flat).
public struct HTTPResponse {
    public enum Body {
        case bytes([UInt8])
        case stream(ResponseBodyStream)
    }

    public var status: HTTPStatus
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(status: HTTPStatus = .ok, headers: [(name: String, value: String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body; `Content-Type: application/json`.
    public static func json(_ status: HTTPStatus = .ok, _ body: [UInt8], headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers.isEmpty ? jsonContentType : jsonContentType + headers, body: .bytes(body))
    }

    /// Shared by every JSON answer without headers of its own, so none allocates a header list.
    private static let jsonContentType = [(name: "Content-Type", value: "application/json")]

    /// `{"error": message}` with the given status: the one shape every failure takes.
    public static func error(_ status: HTTPStatus, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        var body: [UInt8] = Array(#"{"error":"#.utf8)
        JSONText.appendString(message, to: &body)
        body.append(contentsOf: "}\n".utf8)
        return json(status, body, headers: headers)
    }
}

/// The producer side of a streamed body. The server asks for the next chunk only after the
/// previous one was handed to the socket, which is the back-pressure that keeps memory flat.
public protocol ResponseBodyStream: AnyObject {
    /// Calls `deliver` (on the loop, now or later) with the next bytes, or nil at the end, or
    /// an error, which aborts the response by closing the connection.
    func nextChunk(_ deliver: @escaping (Result<[UInt8]?, Error>) -> Void)
    /// The client went away; release what the stream holds.
    func cancel()
}
