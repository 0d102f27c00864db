import CHTTPParser

/// Turns the bytes of one connection into complete requests, using Node's http_parser for the
/// grammar (pipelining, chunked bodies, keep-alive rules) and enforcing the service's limits.
///
/// Sans-I/O: feed it bytes, read back what happened.
public final class HTTPRequestParser {
    public struct Limits: Sendable {
        /// Request line plus header fields; beyond it → 431.
        public var maxHeaderBytes: Int
        /// Decoded body; beyond it → 413.
        public var maxBodyBytes: Int

        public init(maxHeaderBytes: Int = 32 * 1024, maxBodyBytes: Int = 16 * 1024 * 1024) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// Why the byte stream cannot go on; the connection answers with `status` and closes.
    public struct Failure: Error, Equatable, Sendable {
        public let status: HTTPStatus
        public let message: String
    }

    public enum Event {
        /// The headers of a request that wants `100 Continue` before it sends its body.
        case expectsContinue
        case request(HTTPRequest)
    }

    public let limits: Limits
    /// Heap-allocated: http_parser's callbacks read it while `http_parser_execute` runs, which a
    /// Swift stored property would flag as overlapping access.
    private let parser: UnsafeMutablePointer<http_parser>
    private var events: [Event] = []
    private var failure: Failure?

    private var url: [UInt8] = []
    private var headerName: [UInt8] = []
    private var headerValue: [UInt8] = []
    private var headers = HTTPHeaders()
    private var body: [UInt8] = []
    private var headerBytes = 0
    private var lastCallbackWasValue = false
    /// True from the first byte of a request until it is complete: an idle connection closing
    /// here gets a 408, one between requests just closes.
    public private(set) var isInsideRequest = false
    /// The path of the request whose headers are complete and whose body is still arriving:
    /// a server can tell where it goes before the whole request is in. Built when asked.
    public var pathAwaitingBody: String? {
        guard awaitingBody else { return nil }
        let path = url.prefix { $0 != UInt8(ascii: "?") }
        return String(decoding: path, as: UTF8.self)
    }
    private var awaitingBody = false

    public init(limits: Limits = Limits()) {
        self.limits = limits
        parser = .allocate(capacity: 1)
        parser.initialize(to: http_parser())
        http_parser_init(parser, HTTP_REQUEST)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { parser.deallocate() }

    /// What one `feed` produced: the events completed, in order, and then possibly the failure
    /// that ends the connection. Requests completed before a failure in the same bytes are kept,
    /// so the server still answers them before reporting the error.
    public struct FeedResult {
        public var events: [Event]
        public var failure: Failure?
    }

    /// Parses `bytes`; after a failure every later call reports that failure again.
    public func feed(_ bytes: UnsafeRawBufferPointer) -> FeedResult {
        guard failure == nil else { return FeedResult(events: [], failure: failure) }
        events.removeAll(keepingCapacity: true)
        let consumed = bytes.withMemoryRebound(to: CChar.self) { chars in
            withUnsafePointer(to: HTTPRequestParser.settings) { settings in
                http_parser_execute(parser, settings, chars.baseAddress, chars.count)
            }
        }
        if failure == nil, espy_http_errno(parser) != HPE_OK.rawValue {
            failure = HTTPRequestParser.failure(forErrno: espy_http_errno(parser))
        } else if failure == nil, consumed != bytes.count {
            failure = Failure(status: .badRequest, message: "malformed request")
        }
        return FeedResult(events: events, failure: failure)
    }

    private static func failure(forErrno code: UInt32) -> Failure {
        let errno = http_errno(rawValue: code)
        if errno == HPE_HEADER_OVERFLOW {
            return Failure(status: .headersTooLarge, message: "request headers are too large")
        }
        let description = String(cString: http_errno_description(errno))
        return Failure(status: .badRequest, message: "malformed request: \(description)")
    }

    // MARK: - http_parser callbacks (a callback returning non-zero stops the parser)

    private static func owner(_ parser: UnsafeMutablePointer<http_parser>?) -> HTTPRequestParser {
        Unmanaged<HTTPRequestParser>.fromOpaque(parser!.pointee.data).takeUnretainedValue()
    }

    private static let settings: http_parser_settings = {
        var settings = http_parser_settings()
        settings.on_message_begin = { owner($0).messageBegan() }
        settings.on_url = { owner($0).appendURL($1, $2) }
        settings.on_header_field = { owner($0).appendHeaderName($1, $2) }
        settings.on_header_value = { owner($0).appendHeaderValue($1, $2) }
        settings.on_headers_complete = { owner($0).headersCompleted() }
        settings.on_body = { owner($0).appendBody($1, $2) }
        settings.on_message_complete = { owner($0).messageCompleted() }
        return settings
    }()

    private func messageBegan() -> Int32 {
        isInsideRequest = true
        awaitingBody = false
        url.removeAll(keepingCapacity: true)
        headers.removeAll()
        body = []
        headerBytes = 0
        headerName.removeAll(keepingCapacity: true)
        headerValue.removeAll(keepingCapacity: true)
        lastCallbackWasValue = false
        return 0
    }

    private func countHeaderBytes(_ length: Int) -> Int32 {
        headerBytes += length
        guard headerBytes <= limits.maxHeaderBytes else {
            failure = Failure(status: .headersTooLarge,
                              message: "request line and headers exceed \(limits.maxHeaderBytes) bytes")
            return 1
        }
        return 0
    }

    private func appendURL(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        url.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
        return countHeaderBytes(length)
    }

    private func appendHeaderName(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        if lastCallbackWasValue { finishHeader() }
        headerName.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
        return countHeaderBytes(length)
    }

    private func appendHeaderValue(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        lastCallbackWasValue = true
        headerValue.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
        return countHeaderBytes(length)
    }

    private func finishHeader() {
        for index in headerName.indices where headerName[index] >= UInt8(ascii: "A") && headerName[index] <= UInt8(ascii: "Z") {
            headerName[index] |= 0x20
        }
        headers.add(name: String(decoding: headerName, as: UTF8.self), value: String(decoding: headerValue, as: UTF8.self))
        headerName.removeAll(keepingCapacity: true)
        headerValue.removeAll(keepingCapacity: true)
        lastCallbackWasValue = false
    }

    private func headersCompleted() -> Int32 {
        if lastCallbackWasValue || !headerName.isEmpty { finishHeader() }
        if espy_http_has_content_length(parser) != 0, parser.pointee.content_length > UInt64(limits.maxBodyBytes) {
            failure = Failure(status: .payloadTooLarge,
                              message: "request body of \(parser.pointee.content_length) bytes exceeds the limit of \(limits.maxBodyBytes)")
            return -1
        }
        if let expectation = headers["expect"] {
            guard expectation.lowercased() == "100-continue" else {
                failure = Failure(status: HTTPStatus(code: 417, reason: "Expectation Failed"),
                                  message: "unsupported expectation '\(expectation)'")
                return -1
            }
            events.append(.expectsContinue)
        }
        awaitingBody = true
        return 0
    }

    private func appendBody(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        guard body.count + length <= limits.maxBodyBytes else {
            failure = Failure(status: .payloadTooLarge, message: "request body exceeds the limit of \(limits.maxBodyBytes) bytes")
            return 1
        }
        body.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
        return 0
    }

    /// The common methods without building their names: this runs for every request.
    private static func method(_ method: http_method) -> HTTPMethod {
        switch method {
        case HTTP_GET: .get
        case HTTP_HEAD: .head
        case HTTP_POST: .post
        case HTTP_PUT: .put
        case HTTP_DELETE: .delete
        case HTTP_OPTIONS: .options
        case HTTP_PATCH: .patch
        default: HTTPMethod(String(cString: http_method_str(method)))
        }
    }

    private func messageCompleted() -> Int32 {
        isInsideRequest = false
        awaitingBody = false
        // An upgrade is refused as a whole; its request never reaches a handler. Refused once
        // the request is complete, not when its headers ask for it: a malformed body after
        // them is a 400 however the bytes are split (the fuzzer found a 400 or a 501 by split).
        if espy_http_is_upgrade(parser) != 0 {
            failure = Failure(status: .notImplemented, message: "protocol upgrade is not supported")
            return 0
        }
        let request = HTTPRequest(
            method: HTTPRequestParser.method(http_method(rawValue: espy_http_method(parser))),
            target: String(decoding: url, as: UTF8.self),
            headers: headers,
            body: body,
            keepAlive: http_should_keep_alive(parser) != 0,
            version: (Int(parser.pointee.http_major), Int(parser.pointee.http_minor)))
        body = []
        events.append(.request(request))
        return 0
    }
}
