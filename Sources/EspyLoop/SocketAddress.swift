import CLibUV

/// An IPv4 or IPv6 address and port, held in a `sockaddr_storage` so libuv can use it directly.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    var storage: sockaddr_storage

    /// Parses a numeric host (no name lookup: the loop thread must never block on DNS).
    public init(host: String, port: Int) throws(LoopError) {
        guard (0...65535).contains(port) else {
            throw LoopError(code: Int32(UV_EINVAL.rawValue), operation: "port \(port) out of range")
        }
        var storage = sockaddr_storage()
        let status = withUnsafeMutableBytes(of: &storage) { raw -> Int32 in
            if host.contains(":") {
                return uv_ip6_addr(host, Int32(port), raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self))
            }
            return uv_ip4_addr(host, Int32(port), raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self))
        }
        try LoopError.check(status, "address \(host):\(port)")
        self.storage = storage
    }

    /// Parses `host:port` or `[v6host]:port`.
    public init(parsing text: String) throws(LoopError) {
        let invalid = LoopError(code: Int32(UV_EINVAL.rawValue), operation: "address '\(text)' is not HOST:PORT")
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { throw invalid }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw invalid }
        try self.init(host: host, port: port)
    }

    init(_ pointer: UnsafePointer<sockaddr>) {
        var storage = sockaddr_storage()
        let length = pointer.pointee.sa_family == sa_family_t(AF_INET6)
            ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: length)) }
        self.storage = storage
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self)) }
    }

    public var port: Int { withSockaddr { Int(espy_uv_sockaddr_port($0)) } }

    public var host: String {
        withSockaddr { address in
            var buffer = [CChar](repeating: 0, count: 64)
            guard espy_uv_sockaddr_host(address, &buffer, buffer.count) == 0 else { return "?" }
            return String(cString: buffer)
        }
    }

    public var isIPv6: Bool { storage.ss_family == sa_family_t(AF_INET6) }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}
