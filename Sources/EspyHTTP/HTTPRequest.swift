/// A complete, parsed request.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target as sent, e.g. `/v1/count?group_by=uname$system`.
    public var target: String {
        didSet { (path, query) = HTTPRequest.split(target) }
    }
    /// The path part of the target, without the query; split once, since routing, handlers and
    /// the access log all read it.
    public private(set) var path: String
    private var query: Substring
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Whether the connection may carry another request after this one (HTTP/1.1 default,
    /// `Connection: close`, HTTP/1.0 `keep-alive`).
    public var keepAlive: Bool
    public var version: (major: Int, minor: Int)
    /// The client's IP address as the connection sees it (set by the server).
    public var peerHost: String?

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                keepAlive: Bool = true, version: (major: Int, minor: Int) = (1, 1)) {
        self.method = method
        self.target = target
        (path, query) = HTTPRequest.split(target)
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
        self.version = version
    }

    private static func split(_ target: String) -> (String, Substring) {
        guard let question = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target, "") }
        return (String(target[..<question]), target[target.index(after: question)...])
    }

    /// Decoded `name=value` pairs of the query, in order (`+` is a space, `%XX` a byte).
    /// Split on UTF-8 bytes: node-to-node queries carry kilobytes of partition numbers, and
    /// Character-wise splitting showed up first in their profile.
    public var queryParameters: [(name: String, value: String)] { HTTPRequest.formDecoded(query.utf8) }

    /// Decoded `name=value` pairs of an `application/x-www-form-urlencoded` body: how nodes
    /// send each other parameters, so that no client input can push a URL past a limit.
    public var formParameters: [(name: String, value: String)] { HTTPRequest.formDecoded(body[...]) }

    private static func formDecoded(_ bytes: some Collection<UInt8>) -> [(name: String, value: String)] {
        bytes.split(separator: UInt8(ascii: "&")).map { pair in
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            return (HTTPRequest.percentDecode(bytes: parts[0]), parts.count > 1 ? HTTPRequest.percentDecode(bytes: parts[1]) : "")
        }
    }

    public func queryParameter(_ name: String) -> String? {
        queryParameters.first(where: { $0.name == name })?.value
    }

    /// Encodes a query value: every byte but unreserved ones (RFC 3986) as `%XX`.
    public static func percentEncoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    static func percentDecode(_ text: Substring) -> String {
        percentDecode(bytes: text.utf8)
    }

    static func percentDecode(bytes text: some Collection<UInt8>) -> String {
        guard text.contains(UInt8(ascii: "%")) || text.contains(UInt8(ascii: "+")) else { return String(decoding: text, as: UTF8.self) }
        var bytes: [UInt8] = []
        var utf8 = Array(text)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                      let high = hexValue(utf8[utf8.startIndex]), let low = hexValue(utf8[utf8.startIndex + 1]) {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
