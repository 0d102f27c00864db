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
        var pairs: [(name: String, value: String)] = []
        var start = bytes.startIndex
        while start != bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            let pair = bytes[start..<end]
            if !pair.isEmpty {
                if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                    pairs.append((percentDecode(bytes: pair[..<equals]), percentDecode(bytes: pair[pair.index(after: equals)...])))
                } else {
                    pairs.append((percentDecode(bytes: pair), ""))
                }
            }
            start = end == bytes.endIndex ? end : bytes.index(after: end)
        }
        return pairs
    }

    public func queryParameter(_ name: String) -> String? {
        queryParameters.first(where: { $0.name == name })?.value
    }

    /// Encodes a query value: every byte but unreserved ones (RFC 3986) as `%XX`.
    public static func percentEncoded(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(upperHexDigits[Int(byte >> 4)])
                out.append(upperHexDigits[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)

    static func percentDecode(_ text: Substring) -> String {
        percentDecode(bytes: text.utf8)
    }

    static func percentDecode(bytes text: some Collection<UInt8>) -> String {
        guard text.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(decoding: text, as: UTF8.self)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var index = text.startIndex
        while index != text.endIndex {
            let byte = text[index]
            text.formIndex(after: &index)
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), index != text.endIndex, let high = hexValue(text[index]),
                      case let next = text.index(after: index), next != text.endIndex, let low = hexValue(text[next]) {
                bytes.append(high << 4 | low)
                index = text.index(after: next)
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
