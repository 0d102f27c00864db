/// One message that a UDP packet can deliver, after every wrapper (encryption, hasCrc,
/// compress, compound) has been removed.
public enum PacketMessage: Equatable, Sendable {
    case ping(PingMessage)
    case indirectPing(IndirectPingMessage)
    case ack(AckMessage)
    case nack(NackMessage)
    case suspect(SuspectMessage)
    case alive(AliveMessage)
    case dead(DeadMessage)
    /// Delegate bytes after the 08 type byte (for Serf, a Serf message; see `SerfMessageType`).
    case user([UInt8])

    public var messageType: MessageType {
        switch self {
        case .ping: return .ping
        case .indirectPing: return .indirectPing
        case .ack: return .ackResp
        case .nack: return .nackResp
        case .suspect: return .suspect
        case .alive: return .alive
        case .dead: return .dead
        case .user: return .user
        }
    }

    /// `[type byte][body]`, ready to send alone or as a compound part.
    public func encoded() -> [UInt8] {
        switch self {
        case let .ping(body): return body.encodedMessage()
        case let .indirectPing(body): return body.encodedMessage()
        case let .ack(body): return body.encodedMessage()
        case let .nack(body): return body.encodedMessage()
        case let .suspect(body): return body.encodedMessage()
        case let .alive(body): return body.encodedMessage()
        case let .dead(body): return body.encodedMessage()
        case let .user(payload): return [MessageType.user.rawValue] + payload
        }
    }

    /// Decodes one unwrapped message. Wrappers and TCP-only types are rejected; use
    /// `GossipPacket.decode` for whole packets.
    public init(message: [UInt8]) throws {
        guard let first = message.first else { throw WireError.emptyMessage }
        var reader = MsgpackReader(message, position: 1)
        switch MessageType(rawValue: first) {
        case .ping: self = .ping(try PingMessage(msgpack: &reader))
        case .indirectPing: self = .indirectPing(try IndirectPingMessage(msgpack: &reader))
        case .ackResp: self = .ack(try AckMessage(msgpack: &reader))
        case .nackResp: self = .nack(try NackMessage(msgpack: &reader))
        case .suspect: self = .suspect(try SuspectMessage(msgpack: &reader))
        case .alive: self = .alive(try AliveMessage(msgpack: &reader))
        case .dead: self = .dead(try DeadMessage(msgpack: &reader))
        case .user: self = .user(Array(message.dropFirst()))
        case .pushPull, .compound, .compress, .encrypt, .hasCrc, .err, nil:
            throw WireError.unsupportedInPacket(first)
        }
    }
}
