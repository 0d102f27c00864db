/// A complete push/pull request or reply (type 6): header, node states, delegate state (spec §8).
///
/// There is no length prefix: the node count and `UserStateLen` in the header bound it.
public struct PushPullMessage: Equatable, Sendable {
    /// True for a join; a responder echoes the request's value.
    public var join: Bool
    /// Every node the sender knows, itself and dead/left nodes included.
    public var nodes: [PushNodeState]
    /// Delegate state (for Serf, a Serf push/pull message starting with 02). Empty means none.
    public var userState: [UInt8]

    public init(join: Bool, nodes: [PushNodeState], userState: [UInt8] = []) {
        self.join = join
        self.nodes = nodes
        self.userState = userState
    }

    public var header: PushPullHeader {
        PushPullHeader(nodes: nodes.count, userStateLen: userState.count, join: join)
    }

    /// `06`, the header, each node state, then the raw user state.
    public func encoded() -> [UInt8] {
        var writer = MsgpackWriter(reservingCapacity: 64 + 96 * nodes.count + userState.count)
        writer.writeRaw([MessageType.pushPull.rawValue])
        header.encode(to: &writer)
        for node in nodes {
            node.encode(to: &writer)
        }
        writer.writeRaw(userState)
        return writer.bytes
    }

    /// Decodes a message that starts with its 06 type byte; trailing bytes are ignored.
    public init(message: [UInt8]) throws {
        guard let first = message.first else { throw WireError.emptyMessage }
        guard first == MessageType.pushPull.rawValue else {
            throw WireError.unexpectedMessageType(first, expected: "pushPull")
        }
        var reader = MsgpackReader(message, position: 1)
        try self.init(afterTypeByte: &reader)
    }

    /// Decodes from just after the type byte, leaving `reader` after the user state.
    init(afterTypeByte reader: inout MsgpackReader) throws {
        let header = try PushPullHeader(msgpack: &reader)
        // Each node state takes at least one byte, so a count beyond the remaining input
        // is a truncation; checking first keeps a hostile count from reserving memory.
        guard header.nodes <= reader.remainingCount else {
            throw WireError.truncated(needed: header.nodes, available: reader.remainingCount, reading: "push/pull node states")
        }
        var nodes: [PushNodeState] = []
        nodes.reserveCapacity(header.nodes)
        for _ in 0..<header.nodes {
            nodes.append(try PushNodeState(msgpack: &reader))
        }
        let userState = try reader.readRaw(count: header.userStateLen, reading: "push/pull user state")
        self.init(join: header.join, nodes: nodes, userState: userState)
    }
}
