/// Validates one JSON document and rewrites it without insignificant white space.
///
/// Records are stored in this compact form: every value keeps its exact text (numbers are not
/// re-printed, strings keep their escapes), so the stored record is lossless, while the record id,
/// derived from these bytes, does not change when a client re-sends the same object pretty-printed.
public struct JSONCompactor {
    /// Deeper documents are refused: the scanner recurses once per level, and no real profile
    /// nests past a handful of levels.
    public static let maxDepth = 64

    /// Longer number literals are refused: Python (3.11 and later) refuses to read an integer of
    /// more than 4300 digits, so a record holding one could not be read back from the export.
    public static let maxNumberLength = 4300

    /// The UTF-8 byte-order mark, which editors on Windows put at the start of files.
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Where a document comes from, which decides the rules beyond JSON syntax it must follow.
    public enum Origin: Sendable {
        /// Sent by a client: no duplicate keys in any object (readers disagree on which one
        /// counts) and no number over `maxNumberLength`, so every reader of the export agrees.
        case client
        /// Already accepted by a node and passed between replicas: syntax only, so that records
        /// stored before those rules existed still replicate and repair.
        case stored
    }

    /// Compacts a document that must be a JSON object. Top-level members named `droppingTopLevelKey`
    /// are left out, because the server owns them (a client cannot forge `server_time`). With
    /// `skippingByteOrderMark`, a leading UTF-8 byte-order mark is ignored (RFC 8259 §8.1 allows
    /// it): a whole request body may carry one; offsets in errors still count from its first byte.
    public static func compactObject(
        _ input: UnsafeRawBufferPointer, droppingTopLevelKey droppedKey: StaticString? = nil,
        origin: Origin = .client, skippingByteOrderMark: Bool = false
    ) throws(JSONSyntaxError) -> [UInt8] {
        var scanner = Scanner(input: input.bindMemory(to: UInt8.self))
        scanner.checksClientRules = origin == .client
        defer { scanner.openKeys.deallocate() }
        scanner.output.reserveCapacity(input.count)
        if skippingByteOrderMark { scanner.position = byteOrderMarkLength(scanner.input) }
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
        _ bytes: [UInt8], droppingTopLevelKey droppedKey: StaticString? = nil,
        origin: Origin = .client, skippingByteOrderMark: Bool = false
    ) throws(JSONSyntaxError) -> [UInt8] {
        // withUnsafeBytes only rethrows untyped errors, so the typed error travels in a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(JSONSyntaxError) in
                try compactObject(raw, droppingTopLevelKey: droppedKey, origin: origin,
                                  skippingByteOrderMark: skippingByteOrderMark)
            }
        }.get()
    }

    /// 3 when `bytes` starts with a UTF-8 byte-order mark, else 0.
    public static func byteOrderMarkLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        bytes.starts(with: byteOrderMark) ? byteOrderMark.count : 0
    }

    struct Scanner {
        let input: UnsafeBufferPointer<UInt8>
        var position = 0
        var output: [UInt8] = []
        var emitting = true
        var droppedKey: [UInt8]? = nil
        /// Whether the top level held `droppedKey` already. A client's copies are all dropped
        /// (the server owns the key), but a stored record's is its time, and readers of one
        /// with two would disagree on which is.
        var droppedKeySeen = false
        var checksClientRules = true
        /// The keys of every object being scanned, innermost last; each object compares a new key
        /// only with its own (from `ObjectKeys.base` on). One buffer per document, not per object.
        var openKeys = KeyStack()
        /// The decoded text of keys with escapes, which `Key.decoded` indexes; rare, so kept
        /// aside to leave `Key` a plain value that costs nothing to copy.
        var decodedKeys: [[UInt8]] = []

        /// An object key: the bytes between its quotes, and where its decoded text is when it has
        /// escapes (`"\u0061"` and `"a"` are the same key).
        struct Key {
            let start: Int
            let end: Int
            /// Index into `decodedKeys`, or -1: the key's bytes are its text.
            let decoded: Int
        }

        /// What one object knows of its keys so far.
        struct ObjectKeys {
            /// Where its keys start in `openKeys`.
            let base: Int
            /// One bit per key, chosen by its length and last byte: a key whose bit is not set
            /// yet is new without comparing it with anything, the common case.
            var mask: UInt64 = 0
            /// Past `linearKeyLimit` keys, all of them, so a huge object costs linear time, not quadratic.
            var large: Set<[UInt8]>? = nil
        }

        static let linearKeyLimit = 32

        /// A growable stack of keys in memory it manages itself: it is pushed for every key of
        /// every record, and an Array's uniqueness, capacity and truncation calls cost more than
        /// the duplicate check they served (measured with callgrind on a collector profile).
        /// The scanner that owns it deallocates it once the document is done.
        struct KeyStack {
            private var storage: UnsafeMutablePointer<Key>? = nil
            private var capacity = 0
            /// Lowering it drops the keys above; they are plain values, nothing to release.
            var count = 0

            subscript(index: Int) -> Key { storage![index] }

            mutating func append(_ key: Key) {
                if count == capacity { grow() }
                storage![count] = key
                count += 1
            }

            private mutating func grow() {
                let larger = max(16, capacity * 2)
                let bigger = UnsafeMutablePointer<Key>.allocate(capacity: larger)
                if let storage {
                    bigger.moveInitialize(from: storage, count: count)
                    storage.deallocate()
                }
                storage = bigger
                capacity = larger
            }

            func deallocate() { storage?.deallocate() }
        }

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
            var keys = ObjectKeys(base: openKeys.count)
            defer { openKeys.count = keys.base }
            while true {
                skipWhitespace()
                guard position < input.count, input[position] == UInt8(ascii: "\"") else {
                    throw error(position < input.count ? "expected a string key" : "unexpected end of data in object")
                }
                let keyStart = position
                let escaped = try string()
                let keyEnd = position
                let dropping = depth == 0 && isDroppedKey(keyStart + 1, keyEnd - 1)
                if dropping && !checksClientRules {
                    guard !droppedKeySeen else {
                        throw JSONSyntaxError("duplicate key \(quoted(makeKey(keyStart + 1, keyEnd - 1, escaped: escaped))) in object", at: keyStart)
                    }
                    droppedKeySeen = true
                }
                if checksClientRules && !dropping {
                    let key = makeKey(keyStart + 1, keyEnd - 1, escaped: escaped)
                    guard isNewKey(key, in: &keys) else {
                        throw JSONSyntaxError("duplicate key \(quoted(key)) in object", at: keyStart)
                    }
                }
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

        /// Records `key` among the current object's `keys`, unless it is already there.
        @inline(__always)
        mutating func isNewKey(_ key: Key, in keys: inout ObjectKeys) -> Bool {
            let bit = keyBit(key)
            let seenBit = keys.mask & bit != 0
            keys.mask |= bit
            if !seenBit && keys.large == nil && openKeys.count - keys.base < Scanner.linearKeyLimit {
                openKeys.append(key)
                return true
            }
            return isNewKeyComparing(key, in: &keys)
        }

        /// The slow path: a key whose bit an earlier key set, or any key of a large object.
        mutating func isNewKeyComparing(_ key: Key, in keys: inout ObjectKeys) -> Bool {
            if keys.large == nil, openKeys.count - keys.base >= Scanner.linearKeyLimit {
                keys.large = Set((keys.base..<openKeys.count).map { text(openKeys[$0]) })
            }
            if keys.large != nil { return keys.large!.insert(text(key)).inserted }
            for i in keys.base..<openKeys.count {
                let earlier = openKeys[i]
                if earlier.decoded < 0 && key.decoded < 0 ? sameBytes(earlier, key) : text(earlier) == text(key) {
                    return false
                }
            }
            openKeys.append(key)
            return true
        }

        @inline(__always)
        func keyBit(_ key: Key) -> UInt64 {
            if key.decoded >= 0 {
                let text = decodedKeys[key.decoded]
                return 1 &<< UInt64(truncatingIfNeeded: text.count &* 7 &+ Int(text.last ?? 0))
            }
            let last = key.end > key.start ? input[key.end - 1] : 0
            return 1 &<< UInt64(truncatingIfNeeded: (key.end - key.start) &* 7 &+ Int(last))
        }

        @inline(__always)
        mutating func makeKey(_ start: Int, _ end: Int, escaped: Bool) -> Key {
            guard escaped else { return Key(start: start, end: end, decoded: -1) }
            decodedKeys.append(JSONText.unescape(UnsafeBufferPointer(rebasing: input[start..<end])))
            return Key(start: start, end: end, decoded: decodedKeys.count - 1)
        }

        func text(_ key: Key) -> [UInt8] {
            key.decoded >= 0 ? decodedKeys[key.decoded] : Array(UnsafeBufferPointer(rebasing: input[key.start..<key.end]))
        }

        func sameBytes(_ a: Key, _ b: Key) -> Bool {
            let length = a.end - a.start
            guard length == b.end - b.start else { return false }
            for i in 0..<length where input[a.start + i] != input[b.start + i] { return false }
            return true
        }

        /// The key as the client wrote it, quoted, cut short so a huge key cannot flood the message.
        func quoted(_ key: Key) -> String {
            let shown = 64
            let end = min(key.end, key.start + shown)
            let text = String(decoding: UnsafeBufferPointer(rebasing: input[key.start..<end]), as: UTF8.self)
            return "'" + text + (key.end > end ? "…" : "") + "'"
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

        /// Validates a string (escapes, control characters, UTF-8) and leaves `position` after its
        /// closing quote; tells whether it has escapes (its text then differs from its bytes).
        @discardableResult
        mutating func string() throws(JSONSyntaxError) -> Bool {
            position += 1
            var escaped = false
            while position < input.count {
                let byte = input[position]
                if byte == UInt8(ascii: "\"") { position += 1; return escaped }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
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
            if checksClientRules, position - start > JSONCompactor.maxNumberLength {
                throw JSONSyntaxError("number longer than \(JSONCompactor.maxNumberLength) characters (\(position - start))", at: start)
            }
            emit(from: start)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
    }
}
