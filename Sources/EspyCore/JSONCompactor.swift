/// Validates one JSON document and rewrites it without insignificant white space.
///
/// Records are stored in this compact form: every value keeps its exact text (numbers are not
/// re-printed, strings keep their escapes), so the stored record is lossless, while the record id,
/// derived from these bytes, does not change when a client re-sends the same object pretty-printed.
public struct JSONCompactor {
    /// Deeper documents are refused: the scanner recurses once per level, and no real profile
    /// nests past a handful of levels.
    public static let maxDepth = 64

    /// Compacts a document that must be a JSON object. Top-level members named `droppingTopLevelKey`
    /// are left out, because the server owns them (a client cannot forge `server_time`).
    public static func compactObject(
        _ input: UnsafeRawBufferPointer, droppingTopLevelKey droppedKey: StaticString? = nil
    ) throws(JSONSyntaxError) -> [UInt8] {
        var scanner = Scanner(input: input.bindMemory(to: UInt8.self))
        scanner.output.reserveCapacity(input.count)
        scanner.skipWhitespace()
        guard scanner.position < input.count else { throw JSONSyntaxError("empty document", at: 0) }
        guard scanner.peek == UInt8(ascii: "{") else {
            throw JSONSyntaxError("a record must be a JSON object", at: scanner.position)
        }
        if let droppedKey {
            let key = UnsafeRawBufferPointer(start: droppedKey.utf8Start, count: droppedKey.utf8CodeUnitCount)
            scanner.droppedKey = Array(key)
        }
        try scanner.object(depth: 0)
        scanner.skipWhitespace()
        guard scanner.position == input.count else {
            throw JSONSyntaxError("unexpected data after the JSON value", at: scanner.position)
        }
        return scanner.output
    }

    public static func compactObject(
        _ bytes: [UInt8], droppingTopLevelKey droppedKey: StaticString? = nil
    ) throws(JSONSyntaxError) -> [UInt8] {
        // withUnsafeBytes only rethrows untyped errors, so the typed error travels in a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(JSONSyntaxError) in try compactObject(raw, droppingTopLevelKey: droppedKey) }
        }.get()
    }

    /// Finds where the JSON value starting at `start` ends, validating it on the way; used to frame
    /// the elements of a JSON array without copying them.
    public static func endOfValue(in input: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONSyntaxError) -> Int {
        var scanner = Scanner(input: input)
        scanner.position = start
        scanner.emitting = false
        try scanner.value(depth: 0)
        return scanner.position
    }

    struct Scanner {
        let input: UnsafeBufferPointer<UInt8>
        var position = 0
        var output: [UInt8] = []
        var emitting = true
        var droppedKey: [UInt8]? = nil

        init(input: UnsafeBufferPointer<UInt8>) { self.input = input }

        var peek: UInt8 { input[position] }

        mutating func skipWhitespace() {
            while position < input.count {
                switch input[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(reason, at: position) }

        mutating func emit(_ byte: UInt8) { if emitting { output.append(byte) } }

        mutating func emit(from start: Int) {
            if emitting { output.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<position])) }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
            skipWhitespace()
            guard position < input.count else { throw error("unexpected end of data, expected \(what)") }
            guard input[position] == byte else { throw error("expected \(what)") }
            position += 1
        }

        mutating func value(depth: Int) throws(JSONSyntaxError) {
            skipWhitespace()
            guard position < input.count else { throw error("unexpected end of data, expected a value") }
            switch input[position] {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""):
                let start = position
                try string()
                emit(from: start)
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw error("unexpected character")
            }
        }

        mutating func object(depth: Int) throws(JSONSyntaxError) {
            guard depth < JSONCompactor.maxDepth else { throw error("nesting deeper than \(JSONCompactor.maxDepth) levels") }
            position += 1
            emit(UInt8(ascii: "{"))
            skipWhitespace()
            if position < input.count, input[position] == UInt8(ascii: "}") {
                position += 1
                emit(UInt8(ascii: "}"))
                return
            }
            var emittedMembers = 0
            while true {
                skipWhitespace()
                guard position < input.count, input[position] == UInt8(ascii: "\"") else {
                    throw error(position < input.count ? "expected a string key" : "unexpected end of data in object")
                }
                let keyStart = position
                try string()
                let keyEnd = position
                let dropping = depth == 0 && isDroppedKey(keyStart + 1, keyEnd - 1)
                let wasEmitting = emitting
                if dropping { emitting = false }
                if emittedMembers > 0 { emit(UInt8(ascii: ",")) }
                if emitting { output.append(contentsOf: UnsafeBufferPointer(rebasing: input[keyStart..<keyEnd])) }
                try expect(UInt8(ascii: ":"), "':' after an object key")
                emit(UInt8(ascii: ":"))
                try value(depth: depth + 1)
                if !dropping { emittedMembers += 1 }
                emitting = wasEmitting
                skipWhitespace()
                guard position < input.count else { throw error("unexpected end of data in object") }
                if input[position] == UInt8(ascii: ",") { position += 1; continue }
                if input[position] == UInt8(ascii: "}") { position += 1; emit(UInt8(ascii: "}")); return }
                throw error("expected ',' or '}' in object")
            }
        }

        /// Compares the key's decoded text, so an escaped spelling (`server\u005ftime`) is dropped too.
        func isDroppedKey(_ start: Int, _ end: Int) -> Bool {
            guard let droppedKey else { return false }
            let key = UnsafeBufferPointer(rebasing: input[start..<end])
            if key.contains(UInt8(ascii: "\\")) { return JSONText.unescape(key) == droppedKey }
            return key.elementsEqual(droppedKey)
        }

        mutating func array(depth: Int) throws(JSONSyntaxError) {
            guard depth < JSONCompactor.maxDepth else { throw error("nesting deeper than \(JSONCompactor.maxDepth) levels") }
            position += 1
            emit(UInt8(ascii: "["))
            skipWhitespace()
            if position < input.count, input[position] == UInt8(ascii: "]") {
                position += 1
                emit(UInt8(ascii: "]"))
                return
            }
            while true {
                try value(depth: depth + 1)
                skipWhitespace()
                guard position < input.count else { throw error("unexpected end of data in array") }
                if input[position] == UInt8(ascii: ",") { position += 1; emit(UInt8(ascii: ",")); continue }
                if input[position] == UInt8(ascii: "]") { position += 1; emit(UInt8(ascii: "]")); return }
                throw error("expected ',' or ']' in array")
            }
        }

        /// Validates a string (escapes, control characters, UTF-8) and leaves `position` after its closing quote.
        mutating func string() throws(JSONSyntaxError) {
            position += 1
            while position < input.count {
                let byte = input[position]
                if byte == UInt8(ascii: "\"") { position += 1; return }
                if byte == UInt8(ascii: "\\") {
                    try escape()
                } else if byte < 0x20 {
                    throw error("control character in string")
                } else if byte < 0x80 {
                    position += 1
                } else {
                    try utf8Sequence()
                }
            }
            throw error("unterminated string")
        }

        mutating func escape() throws(JSONSyntaxError) {
            guard position + 1 < input.count else { throw error("unterminated escape") }
            switch input[position + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                 UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                position += 2
            case UInt8(ascii: "u"):
                guard position + 6 <= input.count else { throw error("truncated \\u escape") }
                for i in 2..<6 where JSONText.hexValue(input[position + i]) == nil {
                    throw error("invalid \\u escape")
                }
                position += 6
            default:
                throw error("invalid escape")
            }
        }

        mutating func utf8Sequence() throws(JSONSyntaxError) {
            let lead = input[position]
            let length: Int
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: throw error("invalid UTF-8")
            }
            guard position + length <= input.count else { throw error("truncated UTF-8 sequence") }
            for i in 1..<length where input[position + i] & 0xC0 != 0x80 { throw error("invalid UTF-8") }
            // Overlong, surrogate and beyond-U+10FFFF forms are caught by the second byte's range.
            let second = input[position + 1]
            if (lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F)
                || (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F) {
                throw error("invalid UTF-8")
            }
            position += length
        }

        mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
            let count = word.utf8CodeUnitCount
            guard position + count <= input.count else { throw error("unexpected end of data in literal") }
            for i in 0..<count where input[position + i] != word.utf8Start[i] { throw error("invalid literal") }
            let start = position
            position += count
            emit(from: start)
        }

        mutating func number() throws(JSONSyntaxError) {
            let start = position
            if input[position] == UInt8(ascii: "-") { position += 1 }
            guard position < input.count, isDigit(input[position]) else { throw error("invalid number") }
            if input[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                while position < input.count, isDigit(input[position]) { position += 1 }
            }
            if position < input.count, input[position] == UInt8(ascii: ".") {
                position += 1
                guard position < input.count, isDigit(input[position]) else { throw error("invalid number fraction") }
                while position < input.count, isDigit(input[position]) { position += 1 }
            }
            if position < input.count, input[position] | 0x20 == UInt8(ascii: "e") {
                position += 1
                if position < input.count, input[position] == UInt8(ascii: "+") || input[position] == UInt8(ascii: "-") {
                    position += 1
                }
                guard position < input.count, isDigit(input[position]) else { throw error("invalid number exponent") }
                while position < input.count, isDigit(input[position]) { position += 1 }
            }
            emit(from: start)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
    }
}
