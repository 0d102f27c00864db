/// Where a node receives UDP packets and TCP streams: memberlist binds both on one address
/// and port (spec §1), so one value names both.
public struct GossipAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6 or IPv4-mapped (a Serf node bound to 0.0.0.0 advertises
    /// `::ffff:a.b.c.d`). Kept as raw bytes because that is how alive and push/pull carry it,
    /// and memberlist compares addresses byte for byte.
    public var ip: [UInt8]
    public var port: UInt16

    public init(ip: [UInt8], port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// "a.b.c.d:port" for IPv4 (and IPv4-mapped IPv6, as Go prints it), "[v6]:port" otherwise.
    public var description: String {
        if ip.count == 4 {
            return "\(Self.dotted(ip[0..<4])):\(port)"
        }
        if ip.count == 16 {
            if ip[0..<10].allSatisfy({ $0 == 0 }) && ip[10] == 0xff && ip[11] == 0xff {
                return "\(Self.dotted(ip[12..<16])):\(port)"
            }
            return "[\(Self.ipv6Text(ip))]:\(port)"
        }
        return "invalid(\(ip.count) bytes):\(port)"
    }

    private static func dotted(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { String($0) }.joined(separator: ".")
    }

    /// RFC 5952 text: lower-case hex groups, the longest run (two or more) of zero groups as "::".
    private static func ipv6Text(_ bytes: [UInt8]) -> String {
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        let head = hex[0..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return "\(head)::\(tail)"
    }
}
