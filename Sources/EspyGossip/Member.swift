import EspyCore
import EspyGossipWire

/// One node as this instance sees it.
public struct Member: Equatable, Sendable {
    /// memberlist's node states; `left` is a dead node that said goodbye (a dead message
    /// whose From is the node itself), which Serf lists as "left" rather than "failed".
    public typealias State = MemberStatus

    public var name: String
    public var address: GossipAddress
    /// As received (nil and empty both occur on the wire and are kept apart).
    public var meta: [UInt8]?
    public var state: State
    /// The node's own counter; only the node raises it, to refute accusations.
    public var incarnation: UInt32
    /// When `state` last changed, on the shell's clock.
    public var stateChangedAt: GossipInstant
    /// The node's Vsn; all zero if it never sent one (Go treats a missing Vsn as version 0).
    public var protocolVersions: ProtocolVersions

    public init(name: String, address: GossipAddress, meta: [UInt8]?, state: State, incarnation: UInt32,
                stateChangedAt: GossipInstant, protocolVersions: ProtocolVersions) {
        self.name = name
        self.address = address
        self.meta = meta
        self.state = state
        self.incarnation = incarnation
        self.stateChangedAt = stateChangedAt
        self.protocolVersions = protocolVersions
    }

    /// The entry for a push/pull exchange.
    var pushNodeState: PushNodeState {
        PushNodeState(name: name, addr: address.ip, port: address.port, meta: meta, incarnation: incarnation,
                      state: state.wireState, versions: protocolVersions)
    }

    /// Versions as Go stores them when a node sent none.
    static let unknownVersions = ProtocolVersions(protocolMin: 0, protocolMax: 0, protocolCurrent: 0,
                                                  delegateMin: 0, delegateMax: 0, delegateCurrent: 0)
}

/// A change in membership, carrying the member as it is after the change.
public enum MemberEvent: Equatable, Sendable {
    /// First seen, or back from dead/left (memberlist NotifyJoin). Also emitted for ourselves on start.
    case joined(Member)
    /// Meta changed (memberlist NotifyUpdate).
    case updated(Member)
    /// Alive → suspect. Not a memberlist notification; for logs and metrics.
    case suspected(Member)
    /// Suspect → alive without a meta change: the node refuted. Not a memberlist notification.
    case recovered(Member)
    /// Declared dead by a failure verdict (Serf: "failed").
    case failed(Member)
    /// Left gracefully (Serf shows "left" when a leave intent preceded it). Also emitted for
    /// ourselves on `leave`.
    case left(Member)
    /// Removed from the member list: dead longer than gossip-to-the-dead time, at a probe wrap.
    case reaped(Member)

    public var member: Member {
        switch self {
        case let .joined(member), let .updated(member), let .suspected(member), let .recovered(member),
             let .failed(member), let .left(member), let .reaped(member):
            return member
        }
    }
}

extension MemberStatus {
    /// The push/pull encoding (0…3).
    public var wireState: MemberState {
        switch self {
        case .alive: return .alive
        case .suspect: return .suspect
        case .dead: return .dead
        case .left: return .left
        }
    }

    /// Dead and left nodes are neither probed nor counted as live.
    public var isDeadOrLeft: Bool { self == .dead || self == .left }
}
