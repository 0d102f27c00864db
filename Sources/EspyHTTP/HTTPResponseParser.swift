import CHTTPParser

/// The client side of `HTTPRequestParser`: turns a connection's bytes into complete responses.
/// Sans-I/O; one response at a time, as the client sends one request at a time per connection.
public final class HTTPResponseParser {
    public struct Response: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]
        /// False when the server said `Connection: close` (or spoke HTTP/1.0).
        public let keepAlive: Bool

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public let maxBodyBytes: Int
    /// Set before feeding the answer to a HEAD request, which has headers but no body.
    public var expectsBodylessResponse = false
    private let parser: UnsafeMutablePointer<http_parser>
    private var responses: [Response] = []
    private var failure: Failure?
    private var headers = HTTPHeaders()
    private var headerName: [UInt8] = []
    private var headerValue: [UInt8] = []
    private var lastCallbackWasValue = false
    private var body: [UInt8] = []

    public init(maxBodyBytes: Int = 1 << 30) {
        self.maxBodyBytes = maxBodyBytes
        parser = .allocate(capacity: 1)
        parser.initialize(to: http_parser())
        http_parser_init(parser, HTTP_RESPONSE)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { parser.deallocate() }

    public func feed(_ bytes: UnsafeRawBufferPointer) -> Result<[Response], Failure> {
        if let failure { return .failure(failure) }
        responses.removeAll(keepingCapacity: true)
        let consumed = bytes.withMemoryRebound(to: CChar.self) { chars in
            withUnsafePointer(to: HTTPResponseParser.settings) { http_parser_execute(parser, $0, chars.baseAddress, chars.count) }
        }
        if failure == nil, espy_http_errno(parser) != HPE_OK.rawValue {
            failure = Failure(description: "malformed response: "
                              + String(cString: http_errno_description(http_errno(rawValue: espy_http_errno(parser)))))
        } else if failure == nil, consumed != bytes.count {
            failure = Failure(description: "malformed response")
        }
        if let failure { return .failure(failure) }
        return .success(responses)
    }

    /// The server closed the connection: a response delimited by end-of-stream ends here.
    public func finish() -> Result<[Response], Failure> {
        feed(UnsafeRawBufferPointer(start: nil, count: 0))
    }

    private static func owner(_ parser: UnsafeMutablePointer<http_parser>?) -> HTTPResponseParser {
        Unmanaged<HTTPResponseParser>.fromOpaque(parser!.pointee.data).takeUnretainedValue()
    }

    private static let settings: http_parser_settings = {
        var settings = http_parser_settings()
        settings.on_message_begin = { owner($0).begin() }
        settings.on_header_field = { owner($0).appendHeaderName($1, $2) }
        settings.on_header_value = { owner($0).appendHeaderValue($1, $2) }
        settings.on_headers_complete = { owner($0).headersCompleted() }
        settings.on_body = { owner($0).appendBody($1, $2) }
        settings.on_message_complete = { owner($0).completed() }
        return settings
    }()

    private func begin() -> Int32 {
        headers = HTTPHeaders()
        body = []
        headerName.removeAll()
        headerValue.removeAll()
        lastCallbackWasValue = false
        return 0
    }

    private func appendHeaderName(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        if lastCallbackWasValue { finishHeader() }
        headerName.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
        return 0
    }

    private func appendHeaderValue(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        lastCallbackWasValue = true
        headerValue.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
        return 0
    }

    private func finishHeader() {
        headers.add(name: String(decoding: headerName, as: UTF8.self), value: String(decoding: headerValue, as: UTF8.self))
        headerName.removeAll()
        headerValue.removeAll()
        lastCallbackWasValue = false
    }

    private func headersCompleted() -> Int32 {
        if lastCallbackWasValue || !headerName.isEmpty { finishHeader() }
        return expectsBodylessResponse ? 1 : 0  // 1: this response has no body
    }

    private func appendBody(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        guard body.count + length <= maxBodyBytes else {
            failure = Failure(description: "response body exceeds \(maxBodyBytes) bytes")
            return 1
        }
        body.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
        return 0
    }

    private func completed() -> Int32 {
        responses.append(Response(status: Int(parser.pointee.status_code), headers: headers, body: body,
                                  keepAlive: http_should_keep_alive(parser) != 0))
        body = []
        expectsBodylessResponse = false
        return 0
    }
}
