/// Every size and depth limit this module enforces, each with the reason for its value.
///
/// Limits that mirror memberlist keep Go's numbers so both sides agree on what is
/// acceptable; limits that Go lacks exist so hostile bytes cannot make a Swift
/// node allocate or loop without bound.
public enum WireLimits {
    /// memberlist's `MetaMaxSize`: node meta (Serf tags) larger than this is refused by the sender.
    public static let maximumMetaSize = 512

    /// Parts in one compound message. The count is a u8, and memberlist 0.2.2 computes the
    /// length-table size in 8-bit arithmetic, so 128 or more parts are mis-parsed by Go (spec §10).
    public static let maximumCompoundParts = 127

    /// Compound part lengths are u16 big-endian.
    public static let maximumCompoundPartLength = Int(UInt16.max)

    /// memberlist's `maxPushStateBytes` (20 MiB): the largest encrypted TCP frame Go accepts.
    /// We use the same bound for any buffered TCP stream and for decompressed stream content.
    public static let maximumStreamSize = 20 * 1024 * 1024

    /// Total bytes that decompression may produce while unpacking one UDP packet, across all
    /// nested compress messages. LZW can expand ~2700x, so a 64 KiB datagram could otherwise
    /// balloon to ~170 MiB; real packets are built within a 1400-byte budget, so 1 MiB is ample.
    public static let maximumPacketDecompressedSize = 1024 * 1024

    /// How deeply hasCrc/compress/compound wrappers may nest inside one UDP packet. Real senders
    /// use at most three (crc → compress → compound); Go recurses without any bound.
    public static let maximumPacketNesting = 8

    /// AES-GCM nonce size used by memberlist (the GCM standard size).
    public static let nonceSize = 12

    /// AES-GCM authentication tag size.
    public static let tagSize = 16

    /// The exact Vsn length memberlist expects: PMin, PMax, PCur, DMin, DMax, DCur. Go indexes
    /// Vsn[5] whenever Vsn is non-empty, so 1-5 bytes crash a Go agent (spec §6).
    public static let protocolVersionsLength = 6
}
