// Gossiped membership claims: suspect, alive and dead (spec §5, §11).

/// memberlist `suspect` (type 3): `from` suspects `node` at `incarnation`.
public struct SuspectMessage: GossipMessageBody {
    public static let messageType = MessageType.suspect
    public static let goFieldOrder = ["Incarnation", "Node", "From"]

    public var incarnation: UInt32
    public var node: String
    public var from: String

    public init(incarnation: UInt32, node: String, from: String) {
        self.incarnation = incarnation
        self.node = node
        self.from = from
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(incarnation: 0, node: "", from: "")
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "Incarnation": incarnation = try reader.readUInt32()
            case "Node": node = try reader.readString()
            case "From": from = try reader.readString()
            default: try reader.skipValue()
            }
        }
        try requireNodeName(node, in: "\(Self.messageType)")
    }

    public func encode(to writer: inout MsgpackWriter) {
        encodeIncarnationClaim(to: &writer, from: from, incarnation: incarnation, node: node)
    }
}

/// memberlist `dead` (type 5). When `from == node` it means the node left gracefully.
public struct DeadMessage: GossipMessageBody {
    public static let messageType = MessageType.dead
    public static let goFieldOrder = ["Incarnation", "Node", "From"]

    public var incarnation: UInt32
    public var node: String
    public var from: String

    /// Whether this is a graceful leave rather than a failure verdict.
    public var isLeave: Bool { from == node }

    public init(incarnation: UInt32, node: String, from: String) {
        self.incarnation = incarnation
        self.node = node
        self.from = from
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(incarnation: 0, node: "", from: "")
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "Incarnation": incarnation = try reader.readUInt32()
            case "Node": node = try reader.readString()
            case "From": from = try reader.readString()
            default: try reader.skipValue()
            }
        }
        try requireNodeName(node, in: "\(Self.messageType)")
    }

    public func encode(to writer: inout MsgpackWriter) {
        encodeIncarnationClaim(to: &writer, from: from, incarnation: incarnation, node: node)
    }
}

/// suspect and dead share one layout: From, Incarnation, Node (byte order).
private func encodeIncarnationClaim(to writer: inout MsgpackWriter, from: String, incarnation: UInt32, node: String) {
    writer.writeMapHeader(count: 3)
    writer.writeString("From")
    writer.writeString(from)
    writer.writeString("Incarnation")
    writer.writeUnsigned(UInt64(incarnation))
    writer.writeString("Node")
    writer.writeString(node)
}

/// memberlist `alive` (type 4): announces a node, its address, meta and versions.
public struct AliveMessage: GossipMessageBody {
    public static let messageType = MessageType.alive
    public static let goFieldOrder = ["Incarnation", "Node", "Addr", "Port", "Meta", "Vsn"]

    public var incarnation: UInt32
    public var node: String
    /// IP address, 4 bytes or 16 (IPv6, or IPv4-mapped from a node bound to 0.0.0.0).
    public var addr: [UInt8]
    /// 0 means "the receiver's own bind port" (protocol-1 legacy).
    public var port: UInt16
    /// Delegate meta (Serf tags, see `SerfTags`), at most `WireLimits.maximumMetaSize`
    /// bytes. nil is written as 0xc0 and empty as 0xa0; both occur on the wire.
    public var meta: [UInt8]?
    /// nil when the sender sent no Vsn (Go then treats every version as 0).
    public var versions: ProtocolVersions?

    public init(incarnation: UInt32, node: String, addr: [UInt8], port: UInt16, meta: [UInt8]?,
                versions: ProtocolVersions? = .serfAgent) {
        self.incarnation = incarnation
        self.node = node
        self.addr = addr
        self.port = port
        self.meta = meta
        self.versions = versions
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(incarnation: 0, node: "", addr: [], port: 0, meta: nil, versions: nil)
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "Incarnation": incarnation = try reader.readUInt32()
            case "Node": node = try reader.readString()
            case "Addr": addr = try reader.readByteString()
            case "Port": port = try reader.readUInt16()
            case "Meta": meta = try reader.readOptionalByteString()
            case "Vsn": versions = try ProtocolVersions(wireBytes: try reader.readByteString(), field: "alive Vsn")
            default: try reader.skipValue()
            }
        }
        try requireNodeName(node, in: "\(Self.messageType)")
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 6)
        writer.writeString("Addr")
        writer.writeByteStringOrNilIfEmpty(addr)
        writer.writeString("Incarnation")
        writer.writeUnsigned(UInt64(incarnation))
        writer.writeString("Meta")
        writer.writeOptionalByteString(meta)
        writer.writeString("Node")
        writer.writeString(node)
        writer.writeString("Port")
        writer.writeUnsigned(UInt64(port))
        writer.writeString("Vsn")
        writer.writeOptionalByteString(versions?.bytes)
    }
}

/// The name a membership claim is about. memberlist cannot track a member without one; taken
/// in, an empty name became a member "" on every node that went suspect, then failed.
func requireNodeName(_ name: String, in message: String) throws {
    guard !name.isEmpty else { throw WireError.invalidField("\(message) node name", "empty or missing") }
}
