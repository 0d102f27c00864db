/// memberlist `compress` (type 9): a payload replaced by its LZW-compressed form (spec §5, §9).
public struct CompressMessage: GossipMessageBody {
    public static let messageType = MessageType.compress
    public static let goFieldOrder = ["Algo", "Buf"]
    /// `lzwAlgo`, the only algorithm memberlist defines.
    public static let lzwAlgorithm: UInt8 = 0

    public var algorithm: UInt8
    public var buffer: [UInt8]

    public init(algorithm: UInt8, buffer: [UInt8]) {
        self.algorithm = algorithm
        self.buffer = buffer
    }

    /// Compresses `payload` (a complete message, type byte included) the way Go does.
    public init(compressing payload: [UInt8]) {
        self.init(algorithm: Self.lzwAlgorithm, buffer: LZW.compress(payload))
    }

    /// The original payload. `maximumSize` bounds the output, since a small buffer can expand enormously.
    public func decompressed(maximumSize: Int) throws -> [UInt8] {
        guard algorithm == Self.lzwAlgorithm else { throw WireError.unknownCompressionAlgorithm(algorithm) }
        return try LZW.decompress(buffer, maximumOutputSize: maximumSize)
    }

    public init(msgpack reader: inout MsgpackReader) throws {
        self.init(algorithm: Self.lzwAlgorithm, buffer: [])
        var fields = try reader.beginStruct(declarationOrder: Self.goFieldOrder)
        while let name = try fields.next(&reader) {
            switch name {
            case "Algo": algorithm = try reader.readUInt8()
            case "Buf": buffer = try reader.readByteString()
            default: try reader.skipValue()
            }
        }
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(count: 2)
        writer.writeString("Algo")
        writer.writeUnsigned(UInt64(algorithm))
        writer.writeString("Buf")
        writer.writeByteStringOrNilIfEmpty(buffer)
    }
}
