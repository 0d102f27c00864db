/// The first byte of a Serf message inside a memberlist user message (spec §13).
///
/// Append only: these numbers are the protocol.
public enum SerfMessageType: UInt8, Sendable, CaseIterable {
    case leave = 0
    case join = 1
    case pushPull = 2
    case userEvent = 3
    case query = 4
    case queryResponse = 5
    case conflictResponse = 6
    case keyRequest = 7
    case keyResponse = 8
    case relay = 9
}

/// A Serf message body: `[Serf type byte][msgpack]`, carried as the payload of a
/// memberlist user message (`PacketMessage.user`).
public protocol SerfMessageBody: MsgpackStruct, Equatable {
    static var serfMessageType: SerfMessageType { get }
}

extension SerfMessageBody {
    /// The user-message payload: Serf type byte, then the body.
    public func encodedUserPayload() -> [UInt8] {
        [Self.serfMessageType.rawValue] + msgpackEncoded()
    }

    /// The complete memberlist message (08 + payload), ready for a packet or compound.
    public var packetMessage: PacketMessage { .user(encodedUserPayload()) }

    public init(userPayload: [UInt8]) throws {
        guard let first = userPayload.first else { throw WireError.emptyMessage }
        guard first == Self.serfMessageType.rawValue else {
            throw WireError.unexpectedMessageType(first, expected: "Serf \(Self.serfMessageType)")
        }
        var reader = MsgpackReader(userPayload, position: 1)
        try self.init(msgpack: &reader)
    }
}

/// Serf `messageLeave`: broadcast before the memberlist dead-from-self so that peers show
/// the node as `left` instead of `failed`. `lTime` must exceed the member's status LTime.
public struct SerfLeaveIntent: SerfMessageBody {
    public static let serfMessageType = SerfMessageType.leave
    public static let goFieldOrder = ["LTime", "Node", "Prune"]

    public var lTime: UInt64
    public var node: String
    public var prune: Bool

    public init(lTime: UInt64, node: String, prune: Bool = false) {
        self.lTime = lTime
        self.node = node
        self.prune = prune
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(lTime: 0, node: "")
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "LTime": lTime = try reader.readUInt64()
            case "Node": node = try reader.readString()
            case "Prune": prune = try reader.readBool()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 3)
        writer.writeString("LTime")
        writer.writeUnsigned(lTime)
        writer.writeString("Node")
        writer.writeString(node)
        writer.writeString("Prune")
        writer.writeBool(prune)
    }
}

/// Serf `messageJoin`: associates a joining node with a Lamport time.
public struct SerfJoinIntent: SerfMessageBody {
    public static let serfMessageType = SerfMessageType.join
    public static let goFieldOrder = ["LTime", "Node"]

    public var lTime: UInt64
    public var node: String

    public init(lTime: UInt64, node: String) {
        self.lTime = lTime
        self.node = node
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(lTime: 0, node: "")
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "LTime": lTime = try reader.readUInt64()
            case "Node": node = try reader.readString()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 2)
        writer.writeString("LTime")
        writer.writeUnsigned(lTime)
        writer.writeString("Node")
        writer.writeString(node)
    }
}
