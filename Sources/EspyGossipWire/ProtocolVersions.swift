/// The six protocol-version bytes a node advertises as `Vsn` (spec §6).
///
/// P* are memberlist protocol versions, D* are the delegate's (Serf's) protocol versions.
/// On the wire this is a 6-byte msgpack string, never an array.
public struct ProtocolVersions: Equatable, Hashable, Sendable {
    public var protocolMin: UInt8
    public var protocolMax: UInt8
    public var protocolCurrent: UInt8
    public var delegateMin: UInt8
    public var delegateMax: UInt8
    public var delegateCurrent: UInt8

    public init(protocolMin: UInt8, protocolMax: UInt8, protocolCurrent: UInt8,
                delegateMin: UInt8, delegateMax: UInt8, delegateCurrent: UInt8) {
        self.protocolMin = protocolMin
        self.protocolMax = protocolMax
        self.protocolCurrent = protocolCurrent
        self.delegateMin = delegateMin
        self.delegateMax = delegateMax
        self.delegateCurrent = delegateCurrent
    }

    /// What a stock Serf 0.9.4 agent advertises, and what a Swift node must advertise:
    /// memberlist 1...5 speaking 2, Serf 2...5 speaking 5. Anything narrower makes
    /// Serf's verifyProtocol reject the merge.
    public static let serfAgent = ProtocolVersions(protocolMin: 1, protocolMax: 5, protocolCurrent: 2,
                                                   delegateMin: 2, delegateMax: 5, delegateCurrent: 5)

    /// memberlist added the hasCrc wrapper in protocol 5; a sender adds it only for
    /// recipients whose PMax is at least this.
    public static let minimumProtocolForChecksum: UInt8 = 5
    /// Nacks for indirect pings were added in protocol 4.
    public static let minimumProtocolForNack: UInt8 = 4
    /// The TCP fallback ping was added in protocol 3.
    public static let minimumProtocolForTCPPing: UInt8 = 3

    public var bytes: [UInt8] {
        [protocolMin, protocolMax, protocolCurrent, delegateMin, delegateMax, delegateCurrent]
    }

    /// Reads a wire `Vsn`. Empty (or nil) means "no versions" and gives nil, which Go treats
    /// as version 0. One to five bytes is rejected: a Go agent indexes `Vsn[5]` and panics
    /// on it, so no legitimate sender produces it. Bytes after the sixth are ignored, as in Go.
    init?(wireBytes: [UInt8], field: String) throws {
        if wireBytes.isEmpty { return nil }
        guard wireBytes.count >= WireLimits.protocolVersionsLength else {
            throw WireError.invalidField(field, "\(wireBytes.count) bytes; memberlist needs exactly 6")
        }
        self.init(protocolMin: wireBytes[0], protocolMax: wireBytes[1], protocolCurrent: wireBytes[2],
                  delegateMin: wireBytes[3], delegateMax: wireBytes[4], delegateCurrent: wireBytes[5])
    }
}

/// A node's state as carried in push/pull entries (Go `NodeStateType`, an `int`).
///
/// A struct rather than an enum: Go's merge ignores values it does not know, so we must
/// be able to carry them too.
public struct MemberState: RawRepresentable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }

    public static let alive = MemberState(rawValue: 0)
    public static let suspect = MemberState(rawValue: 1)
    public static let dead = MemberState(rawValue: 2)
    public static let left = MemberState(rawValue: 3)

    public var description: String {
        switch self {
        case .alive: return "alive"
        case .suspect: return "suspect"
        case .dead: return "dead"
        case .left: return "left"
        default: return "state(\(rawValue))"
        }
    }
}
