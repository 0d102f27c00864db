/// What one TCP stream carries in one direction, after encryption and compression are removed (spec §8).
public enum StreamMessage: Equatable, Sendable {
    /// The TCP fallback ping.
    case ping(PingMessage)
    /// The reply to a TCP ping.
    case ack(AckMessage)
    /// State exchange, for joins and anti-entropy.
    case pushPull(PushPullMessage)
    /// A reliable user message: `08`, `{UserMsgLen}`, then these bytes.
    case user([UInt8])
    /// A responder's refusal.
    case error(ErrorMessage)

    /// The plain stream content, before compression and encryption.
    public func encoded() -> [UInt8] {
        switch self {
        case let .ping(body): return body.encodedMessage()
        case let .ack(body): return body.encodedMessage()
        case let .pushPull(body): return body.encoded()
        case let .user(payload): return UserMessageHeader(userMsgLen: payload.count).encodedMessage() + payload
        case let .error(body): return body.encodedMessage()
        }
    }

    /// Decodes plain content (type byte first) and reports how many bytes it used.
    /// A truncation error means the content is incomplete so far.
    static func decodePlain(_ bytes: [UInt8]) throws -> (message: StreamMessage, consumed: Int) {
        guard let first = bytes.first else {
            throw WireError.truncated(needed: 1, available: 0, reading: "stream message type")
        }
        var reader = MsgpackReader(bytes, position: 1)
        let message: StreamMessage
        switch MessageType(rawValue: first) {
        case .ping: message = .ping(try PingMessage(msgpack: &reader))
        case .ackResp: message = .ack(try AckMessage(msgpack: &reader))
        case .pushPull: message = .pushPull(try PushPullMessage(afterTypeByte: &reader))
        case .user:
            let header = try UserMessageHeader(msgpack: &reader)
            message = .user(try reader.readRaw(count: header.userMsgLen, reading: "user message"))
        case .err: message = .error(try ErrorMessage(msgpack: &reader))
        default:
            throw WireError.unexpectedMessageType(first, expected: "a stream message (ping, ack, push/pull, user or err)")
        }
        return (message, reader.position)
    }
}
