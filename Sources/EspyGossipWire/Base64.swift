/// Standard base64 (RFC 4648 alphabet with `=` padding), enough to read the keys that
/// `serf keygen` prints and `-encrypt` / `-keyring-file` accept. Like Go's
/// `base64.StdEncoding`, padding is required, CR/LF are skipped and unused trailing bits
/// are ignored (Go's encoding is not in strict mode).
enum Base64 {
    static func decode(_ text: String) throws -> [UInt8] {
        var sextets: [UInt8] = []
        var padding = 0
        for byte in text.utf8 where byte != 0x0a && byte != 0x0d {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0 else { throw WireError.invalidBase64("data after padding") }
            guard let value = sextet(byte) else { throw WireError.invalidBase64("character 0x\(String(byte, radix: 16))") }
            sextets.append(value)
        }
        guard (sextets.count + padding) % 4 == 0, padding <= 2, padding == (4 - sextets.count % 4) % 4 else {
            throw WireError.invalidBase64("length \(sextets.count) with \(padding) padding character(s)")
        }
        var output: [UInt8] = []
        output.reserveCapacity(sextets.count * 3 / 4)
        var index = 0
        while index < sextets.count {
            let chunk = sextets[index..<min(index + 4, sextets.count)]
            var bits: UInt32 = 0
            for value in chunk { bits = bits << 6 | UInt32(value) }
            bits <<= UInt32(6 * (4 - chunk.count))
            let produced = chunk.count - 1
            for shift in [16, 8, 0].prefix(produced) {
                output.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift)))
            }
            index += 4
        }
        return output
    }

    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var bits: UInt32 = 0
            for byte in chunk { bits = bits << 8 | UInt32(byte) }
            bits <<= UInt32(8 * (3 - chunk.count))
            for position in 0..<4 {
                if position <= chunk.count {
                    output.append(alphabet[Int((bits >> UInt32(18 - 6 * position)) & 0x3f)])
                } else {
                    output.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
