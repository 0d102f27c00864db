/// CRC-32/IEEE (the zlib and Ethernet polynomial, reflected 0xEDB88320), as Go's
/// `crc32.ChecksumIEEE` computes it for memberlist's hasCrc wrapper (spec §6).
public enum CRC32 {
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8)
        }
        return crc ^ 0xffff_ffff
    }
}

/// One entry per byte value: the reflected polynomial applied over eight bit-steps.
private let crcTable: [UInt32] = (0..<256).map { index in
    var value = UInt32(index)
    for _ in 0..<8 {
        value = value & 1 == 1 ? (value >> 1) ^ 0xedb8_8320 : value >> 1
    }
    return value
}
