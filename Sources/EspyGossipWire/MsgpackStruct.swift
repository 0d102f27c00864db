/// A Go struct that travels as a msgpack map keyed by its Go field names.
///
/// Encoders write keys in byte order (go-msgpack sorts struct fields by encoded name),
/// which is what makes our bytes identical to Go's. Decoders accept any key order,
/// unknown keys, missing keys (left at zero) and the positional-array form.
public protocol MsgpackStruct: Sendable {
    /// Go field names in declaration order: the element order of the positional-array form.
    static var goFieldOrder: [String] { get }
    init(msgpack reader: inout MsgpackReader) throws
    func encode(to writer: inout MsgpackWriter)
}

/// A message body that follows its own `MessageType` byte.
public protocol GossipMessageBody: MsgpackStruct, Equatable {
    static var messageType: MessageType { get }
}

extension MsgpackStruct {
    /// The struct alone, as msgpack.
    public func msgpackEncoded() -> [UInt8] {
        var writer = MsgpackWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes one struct from the start of `bytes`; trailing bytes are ignored, as Go's
    /// decoder reads exactly one value.
    public init(msgpack bytes: [UInt8]) throws {
        var reader = MsgpackReader(bytes)
        try self.init(msgpack: &reader)
    }
}

extension GossipMessageBody {
    /// `[type byte][msgpack body]`, the form that goes into a packet, compound part or stream.
    public func encodedMessage() -> [UInt8] {
        var writer = MsgpackWriter()
        writer.writeRaw([Self.messageType.rawValue])
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes `[type byte][msgpack body]`, checking that the type byte is ours.
    public init(message: [UInt8]) throws {
        guard let first = message.first else { throw WireError.emptyMessage }
        guard first == Self.messageType.rawValue else {
            throw WireError.unexpectedMessageType(first, expected: "\(Self.messageType)")
        }
        var reader = MsgpackReader(message, position: 1)
        try self.init(msgpack: &reader)
    }
}
