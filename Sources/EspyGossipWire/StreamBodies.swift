// Bodies that travel only over TCP streams: push/pull pieces, the user-message
// header and the error reply (spec §5, §8).

/// memberlist `pushPullHeader`, following type byte 6. See `PushPullMessage` for the whole exchange.
public struct PushPullHeader: GossipMessageBody {
    public static let messageType = MessageType.pushPull
    public static let goFieldOrder = ["Nodes", "UserStateLen", "Join"]

    /// How many `PushNodeState` maps follow.
    public var nodes: Int
    /// How many raw delegate-state bytes follow the node states.
    public var userStateLen: Int
    /// True for a join; the responder echoes the request's value.
    public var join: Bool

    public init(nodes: Int, userStateLen: Int, join: Bool) {
        self.nodes = nodes
        self.userStateLen = userStateLen
        self.join = join
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(nodes: 0, userStateLen: 0, join: false)
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "Nodes": nodes = try reader.readCount(field: "push/pull Nodes")
            case "UserStateLen": userStateLen = try reader.readCount(field: "push/pull UserStateLen")
            case "Join": join = try reader.readBool()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 3)
        writer.writeString("Join")
        writer.writeBool(join)
        writer.writeString("Nodes")
        writer.writeSigned(Int64(nodes))
        writer.writeString("UserStateLen")
        writer.writeSigned(Int64(userStateLen))
    }
}

/// memberlist `pushNodeState`: one node's entry in a push/pull exchange (no type byte).
public struct PushNodeState: MsgpackStruct, Equatable {
    public static let goFieldOrder = ["Name", "Addr", "Port", "Meta", "Incarnation", "State", "Vsn"]

    public var name: String
    public var addr: [UInt8]
    /// 0 means "the receiver's own bind port" (protocol-1 legacy).
    public var port: UInt16
    /// nil is written as 0xc0 and empty as 0xa0, as for `AliveMessage.meta`.
    public var meta: [UInt8]?
    public var incarnation: UInt32
    public var state: MemberState
    public var versions: ProtocolVersions?

    public init(name: String, addr: [UInt8], port: UInt16, meta: [UInt8]?, incarnation: UInt32,
                state: MemberState, versions: ProtocolVersions? = .serfAgent) {
        self.name = name
        self.addr = addr
        self.port = port
        self.meta = meta
        self.incarnation = incarnation
        self.state = state
        self.versions = versions
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(name: "", addr: [], port: 0, meta: nil, incarnation: 0, state: .alive, versions: nil)
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let field = try fields.next(&reader) {
            switch field {
            case "Name": name = try reader.readString()
            case "Addr": addr = try reader.readByteString()
            case "Port": port = try reader.readUInt16()
            case "Meta": meta = try reader.readOptionalByteString()
            case "Incarnation": incarnation = try reader.readUInt32()
            case "State": state = MemberState(rawValue: try reader.readSigned(bits: 64))
            case "Vsn": versions = try ProtocolVersions(wireBytes: try reader.readByteString(), field: "push/pull Vsn")
            default: try reader.skipValue()
            }
        }
        try requireNodeName(name, in: "push/pull")
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 7)
        writer.writeString("Addr")
        writer.writeByteStringOrNilIfEmpty(addr)
        writer.writeString("Incarnation")
        writer.writeUnsigned(UInt64(incarnation))
        writer.writeString("Meta")
        writer.writeOptionalByteString(meta)
        writer.writeString("Name")
        writer.writeString(name)
        writer.writeString("Port")
        writer.writeUnsigned(UInt64(port))
        writer.writeString("State")
        writer.writeSigned(state.rawValue)
        writer.writeString("Vsn")
        writer.writeOptionalByteString(versions?.bytes)
    }
}

/// memberlist `userMsgHeader`, following type byte 8 on a TCP stream; `userMsgLen` raw bytes follow.
public struct UserMessageHeader: GossipMessageBody {
    public static let messageType = MessageType.user
    public static let goFieldOrder = ["UserMsgLen"]

    public var userMsgLen: Int

    public init(userMsgLen: Int) {
        self.userMsgLen = userMsgLen
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(userMsgLen: 0)
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "UserMsgLen": userMsgLen = try reader.readCount(field: "UserMsgLen")
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 1)
        writer.writeString("UserMsgLen")
        writer.writeSigned(Int64(userMsgLen))
    }
}

/// memberlist `errResp` (type 13): a responder's reason for rejecting a stream.
public struct ErrorMessage: GossipMessageBody {
    public static let messageType = MessageType.err
    public static let goFieldOrder = ["Error"]

    public var error: String

    public init(error: String) {
        self.error = error
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(error: "")
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "Error": error = try reader.readString()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 1)
        writer.writeString("Error")
        writer.writeString(error)
    }
}
