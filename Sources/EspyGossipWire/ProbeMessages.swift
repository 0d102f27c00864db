// Failure-detector probes: ping, indirect ping, ack and nack (spec §5).
// Keys are written in byte order, as go-msgpack does; see MsgpackStruct.

/// memberlist `ping` (type 0): a direct probe, over UDP or as the TCP fallback ping.
public struct PingMessage: GossipMessageBody {
    public static let messageType = MessageType.ping
    public static let goFieldOrder = ["SeqNo", "Node", "SourceAddr", "SourcePort", "SourceNode"]

    public var seqNo: UInt32
    /// The intended recipient's name; a receiver with another name ignores the ping. "" means anyone.
    public var node: String
    /// Where the ack should go. All three are `omitempty`: left out of the map when empty or zero.
    public var sourceAddr: [UInt8]
    public var sourcePort: UInt16
    public var sourceNode: String

    public init(seqNo: UInt32, node: String, sourceAddr: [UInt8] = [], sourcePort: UInt16 = 0, sourceNode: String = "") {
        self.seqNo = seqNo
        self.node = node
        self.sourceAddr = sourceAddr
        self.sourcePort = sourcePort
        self.sourceNode = sourceNode
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(seqNo: 0, node: "")
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "SeqNo": seqNo = try reader.readUInt32()
            case "Node": node = try reader.readString()
            case "SourceAddr": sourceAddr = try reader.readByteString()
            case "SourcePort": sourcePort = try reader.readUInt16()
            case "SourceNode": sourceNode = try reader.readString()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        let hasAddr = !sourceAddr.isEmpty, hasNode = !sourceNode.isEmpty, hasPort = sourcePort != 0
        writer.writeMapHeader(count: 2 + (hasAddr ? 1 : 0) + (hasNode ? 1 : 0) + (hasPort ? 1 : 0))
        writer.writeString("Node")
        writer.writeString(node)
        writer.writeString("SeqNo")
        writer.writeUnsigned(UInt64(seqNo))
        if hasAddr {
            writer.writeString("SourceAddr")
            writer.writeByteString(sourceAddr)
        }
        if hasNode {
            writer.writeString("SourceNode")
            writer.writeString(sourceNode)
        }
        if hasPort {
            writer.writeString("SourcePort")
            writer.writeUnsigned(UInt64(sourcePort))
        }
    }
}

/// memberlist `indirectPingReq` (type 1): asks a peer to probe `target` on our behalf.
public struct IndirectPingMessage: GossipMessageBody {
    public static let messageType = MessageType.indirectPing
    public static let goFieldOrder = ["SeqNo", "Target", "Port", "Node", "Nack", "SourceAddr", "SourcePort", "SourceNode"]

    public var seqNo: UInt32
    /// The target's IP, 4 or 16 bytes.
    public var target: [UInt8]
    public var port: UInt16
    /// The target's name.
    public var node: String
    /// Ask the relay to answer with a nack if the target stays silent (protocol 4+).
    public var nack: Bool
    /// `omitempty` reply address of the requester.
    public var sourceAddr: [UInt8]
    public var sourcePort: UInt16
    public var sourceNode: String

    public init(seqNo: UInt32, target: [UInt8], port: UInt16, node: String, nack: Bool,
                sourceAddr: [UInt8] = [], sourcePort: UInt16 = 0, sourceNode: String = "") {
        self.seqNo = seqNo
        self.target = target
        self.port = port
        self.node = node
        self.nack = nack
        self.sourceAddr = sourceAddr
        self.sourcePort = sourcePort
        self.sourceNode = sourceNode
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(seqNo: 0, target: [], port: 0, node: "", nack: false)
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "SeqNo": seqNo = try reader.readUInt32()
            case "Target": target = try reader.readByteString()
            case "Port": port = try reader.readUInt16()
            case "Node": node = try reader.readString()
            case "Nack": nack = try reader.readBool()
            case "SourceAddr": sourceAddr = try reader.readByteString()
            case "SourcePort": sourcePort = try reader.readUInt16()
            case "SourceNode": sourceNode = try reader.readString()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        let hasAddr = !sourceAddr.isEmpty, hasNode = !sourceNode.isEmpty, hasPort = sourcePort != 0
        writer.writeMapHeader(count: 5 + (hasAddr ? 1 : 0) + (hasNode ? 1 : 0) + (hasPort ? 1 : 0))
        writer.writeString("Nack")
        writer.writeBool(nack)
        writer.writeString("Node")
        writer.writeString(node)
        writer.writeString("Port")
        writer.writeUnsigned(UInt64(port))
        writer.writeString("SeqNo")
        writer.writeUnsigned(UInt64(seqNo))
        if hasAddr {
            writer.writeString("SourceAddr")
            writer.writeByteString(sourceAddr)
        }
        if hasNode {
            writer.writeString("SourceNode")
            writer.writeString(sourceNode)
        }
        if hasPort {
            writer.writeString("SourcePort")
            writer.writeUnsigned(UInt64(sourcePort))
        }
        writer.writeString("Target")
        writer.writeByteStringOrNilIfEmpty(target)
    }
}

/// memberlist `ackResp` (type 2): answers a ping; matched to the probe only by `seqNo`.
public struct AckMessage: GossipMessageBody {
    public static let messageType = MessageType.ackResp
    public static let goFieldOrder = ["SeqNo", "Payload"]

    public var seqNo: UInt32
    /// Ping-delegate payload (Serf sends its network coordinate). nil is written as 0xc0 and
    /// empty as 0xa0; both occur on the wire, so the distinction is kept.
    public var payload: [UInt8]?

    public init(seqNo: UInt32, payload: [UInt8]? = nil) {
        self.seqNo = seqNo
        self.payload = payload
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(seqNo: 0)
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "SeqNo": seqNo = try reader.readUInt32()
            case "Payload": payload = try reader.readOptionalByteString()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 2)
        writer.writeString("Payload")
        writer.writeOptionalByteString(payload)
        writer.writeString("SeqNo")
        writer.writeUnsigned(UInt64(seqNo))
    }
}

/// memberlist `nackResp` (type 11): a relay's report that the indirect target did not answer.
public struct NackMessage: GossipMessageBody {
    public static let messageType = MessageType.nackResp
    public static let goFieldOrder = ["SeqNo"]

    public var seqNo: UInt32

    public init(seqNo: UInt32) {
        self.seqNo = seqNo
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(seqNo: 0)
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "SeqNo": seqNo = try reader.readUInt32()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 1)
        writer.writeString("SeqNo")
        writer.writeUnsigned(UInt64(seqNo))
    }
}
