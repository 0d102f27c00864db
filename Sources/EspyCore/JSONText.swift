/// Small byte-level helpers for reading and writing JSON text without Foundation's tree types,
/// which cost an allocation per value on the request path.
public enum JSONText {
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `value` as a JSON string literal, quotes included.
    public static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for i in 0..<bytes.count {
                let byte = bytes[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                runStart = i + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    public static func appendInteger<T: BinaryInteger>(_ value: T, to out: inout [UInt8]) {
        guard let value = Int(exactly: value) else { return out.append(contentsOf: String(value).utf8) }
        appendInteger(value, to: &out)
    }

    /// Digits straight into `out`: `String(value)` allocated a string per number, which showed
    /// in every health check's profile.
    /// The digits are made on the stack, last first, and appended once: reversing them in
    /// place through `out[start...]` copied the whole array each time.
    public static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for a sign and 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var magnitude = value.magnitude
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// The text a JSON value is grouped under: a string's decoded characters, any other value's
    /// compact JSON text (`3`, `true`, `null`, `[3,11]`). `bytes` is one complete, valid value.
    public static func groupingKey(ofValue bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\"") else {
            return String(decoding: bytes, as: UTF8.self)
        }
        let inner = UnsafeBufferPointer(rebasing: bytes[1..<(bytes.count - 1)])
        if !inner.contains(UInt8(ascii: "\\")) {
            return String(decoding: inner, as: UTF8.self)
        }
        return String(decoding: unescape(inner), as: UTF8.self)
    }

    /// Decodes the escapes of a validated string body (without its quotes) into UTF-8.
    static func unescape(_ inner: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var i = 0
        while i < inner.count {
            let byte = inner[i]
            guard byte == UInt8(ascii: "\\"), i + 1 < inner.count else {
                out.append(byte)
                i += 1
                continue
            }
            let code = inner[i + 1]
            i += 2
            switch code {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(inner, at: i)
                i += 4
                // A high surrogate followed by an escaped low surrogate is one scalar (UTF-16 pair).
                if (0xD800...0xDBFF).contains(scalar), i + 6 <= inner.count,
                   inner[i] == UInt8(ascii: "\\"), inner[i + 1] == UInt8(ascii: "u") {
                    let low = hex4(inner, at: i + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                let decoded = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: String(Character(decoded)).utf8)
            default: out.append(code)
            }
        }
        return out
    }

    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> UInt32 {
        guard start + 4 <= bytes.count else { return 0xFFFD }
        var value: UInt32 = 0
        for i in start..<(start + 4) { value = value << 4 | UInt32(hexValue(bytes[i]) ?? 0) }
        return value
    }
}
