import Foundation

/// A blocking TCP client for tests: writes exact bytes and reads raw responses, so tests can
/// send what a real client library never would (pipelined, split, malformed, slow requests).
public final class RawHTTPClient {
    public let fd: Int32

    /// With `source`, the connection comes from that local address (any of 127.0.0.0/8 on loopback).
    public init(port: Int, host: String = "127.0.0.1", source: String? = nil, receiveTimeout: TimeInterval = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        // bind(2) then connect(2), each on an IPv4 address; a failure closes the socket.
        func call(_ function: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32, _ host: String, port: Int,
                  orElse fallback: POSIXErrorCode) throws {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { function(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard status == 0 else {
                close(fd)
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? fallback)
            }
        }
        if let source { try call(bind, source, port: 0, orElse: .EADDRNOTAVAIL) }
        try call(connect, host, port: port, orElse: .ECONNREFUSED)
        setReceiveTimeout(receiveTimeout)
    }

    deinit { close(fd) }

    public func setReceiveTimeout(_ seconds: TimeInterval) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPIPE) }
            offset += written
        }
    }

    /// Reads whatever arrives until `count` complete responses were parsed, the peer closes,
    /// or the receive timeout passes.
    public func readResponses(_ count: Int) -> [RawHTTPResponse] {
        var buffer: [UInt8] = []
        var responses: [RawHTTPResponse] = []
        while responses.count < count {
            if let (response, consumed) = RawHTTPResponse.parse(buffer) {
                responses.append(response)
                buffer.removeFirst(consumed)
                continue
            }
            guard let chunk = receive() else { break }
            buffer += chunk
        }
        return responses
    }

    /// One read; nil on close, error or timeout.
    public func receive() -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else { return nil }
        return Array(chunk[0..<count])
    }

    /// True when the server closed the connection (a read returns end-of-file).
    public func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}

/// A response as read off the wire, with the body de-chunked.
public struct RawHTTPResponse {
    public let status: Int
    public let headers: [String: String]
    public let body: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func json() -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// Parses one response from the front of `bytes`; nil if it is not complete yet.
    /// HEAD responses are not distinguishable here; use `parseHead` for those.
    public static func parse(_ bytes: [UInt8], bodyless: Bool = false) -> (RawHTTPResponse, Int)? {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var position = headEnd + 4
        if bodyless || status == 100 { return (RawHTTPResponse(status: status, headers: headers, body: []), position) }
        if let length = headers["content-length"].flatMap(Int.init) {
            guard bytes.count >= position + length else { return nil }
            return (RawHTTPResponse(status: status, headers: headers, body: Array(bytes[position..<(position + length)])),
                    position + length)
        }
        guard headers["transfer-encoding"]?.lowercased() == "chunked" else {
            return (RawHTTPResponse(status: status, headers: headers, body: []), position)
        }
        var body: [UInt8] = []
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: position),
                  let size = Int(String(decoding: bytes[position..<lineEnd], as: UTF8.self), radix: 16) else { return nil }
            position = lineEnd + 2
            guard bytes.count >= position + size + 2 else { return nil }
            if size == 0 { return (RawHTTPResponse(status: status, headers: headers, body: body), position + 2) }
            body += bytes[position..<(position + size)]
            position += size + 2
        }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
