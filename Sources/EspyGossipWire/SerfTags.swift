/// Serf's node tags as memberlist meta (spec §13).
///
/// Serf protocol 3+ writes `0xFF` followed by a msgpack map of str → str. Older nodes (and
/// nodes without a delegate) send the bare role, or nothing; Serf reads any meta that
/// does not start with 0xFF as `{"role": meta}`.
public enum SerfTags {
    /// Marks meta as a msgpack tag map rather than a legacy role string.
    public static let magicByte: UInt8 = 0xff

    /// Encodes tags. Go's map order is random; we sort keys by their UTF-8 bytes so the
    /// result is reproducible. Fails if the result exceeds `WireLimits.maximumMetaSize`.
    public static func encode(_ tags: [String: String]) throws -> [UInt8] {
        var writer = MsgpackWriter()
        writer.writeRaw([magicByte])
        writer.writeMapHeader(count: tags.count)
        for (key, value) in tags.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) {
            writer.writeString(key)
            writer.writeString(value)
        }
        guard writer.bytes.count <= WireLimits.maximumMetaSize else {
            throw WireError.metaTooLarge(writer.bytes.count, limit: WireLimits.maximumMetaSize)
        }
        return writer.bytes
    }

    /// Decodes meta the way Serf does. nil or empty meta gives `["role": ""]`, which is why a
    /// node without meta is listed as `role=`. Keys and values must be str-family strings
    /// (nil reads as ""); a repeated key keeps its last value; bytes after the map are ignored.
    public static func decode(_ meta: [UInt8]?) throws -> [String: String] {
        guard let meta, meta.first == magicByte else {
            return ["role": String(decoding: meta ?? [], as: UTF8.self)]
        }
        var reader = MsgpackReader(meta, position: 1)
        let count = try reader.readMapHeader()
        var tags: [String: String] = [:]
        tags.reserveCapacity(count)
        for _ in 0..<count {
            let key = try reader.readString()
            tags[key] = try reader.readString()
        }
        return tags
    }
}
