import EspyGossip
import EspyLoop

/// Gossip speaks in raw IP bytes (as alive messages carry them); sockets speak `SocketAddress`.
extension GossipAddress {
    init(_ address: SocketAddress) throws {
        let host = address.host
        var bytes: [UInt8] = []
        if address.isIPv6 {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, host, &raw) == 1 else { throw GossipTransportError("bad IPv6 address \(host)") }
            bytes = withUnsafeBytes(of: raw) { Array($0) }
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, host, &raw) == 1 else { throw GossipTransportError("bad IPv4 address \(host)") }
            bytes = withUnsafeBytes(of: raw) { Array($0) }
        }
        self.init(ip: bytes, port: UInt16(address.port))
    }

    var socketAddress: SocketAddress? { try? SocketAddress(parsing: description) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
