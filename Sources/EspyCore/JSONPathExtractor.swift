/// Finds the values at a fixed set of paths in one left-to-right pass over a valid JSON document,
/// skipping every subtree no path leads into and stopping as soon as all paths are resolved.
///
/// Built once per set of paths (a trie of their segments), then reused for every record; it
/// never builds a value tree, which is what makes scans over a million stored records affordable.
public struct JSONPathExtractor: Sendable {
    private struct Child: Sendable {
        let key: [UInt8]
        let arrayIndex: Int?
        let node: Int
    }

    private struct Node: Sendable {
        var children: [Child] = []
        var terminals: [Int] = []
    }

    private var nodes: [Node] = [Node()]
    public let paths: [FieldPath]

    public init(paths: [FieldPath]) {
        self.paths = paths
        for (pathIndex, path) in paths.enumerated() {
            var current = 0
            for segment in path.segments {
                let key = Array(segment.utf8)
                if let existing = nodes[current].children.first(where: { $0.key == key }) {
                    current = existing.node
                } else {
                    nodes.append(Node())
                    let child = Child(key: key, arrayIndex: FieldPath.arrayIndex(segment), node: nodes.count - 1)
                    nodes[current].children.append(child)
                    current = child.node
                }
            }
            nodes[current].terminals.append(pathIndex)
        }
    }

    /// The byte range of each path's value in `document`, or nil where the record lacks the path.
    public func extract(from document: UnsafeBufferPointer<UInt8>) -> [Range<Int>?] {
        var walk = Walk(document: document, nodes: nodes, found: Array(repeating: nil, count: paths.count))
        walk.remaining = paths.count
        var position = 0
        walk.skipWhitespace(&position)
        if position < document.count { walk.value(&position, node: 0) }
        return walk.found
    }

    /// Grouping keys (see `JSONText.groupingKey`) of each path's value; nil where missing.
    public func groupingKeys(from document: UnsafeBufferPointer<UInt8>) -> [String?] {
        extract(from: document).map { range in
            range.map { JSONText.groupingKey(ofValue: UnsafeBufferPointer(rebasing: document[$0])) }
        }
    }

    private struct Walk {
        let document: UnsafeBufferPointer<UInt8>
        let nodes: [Node]
        var found: [Range<Int>?]
        var remaining = 0

        var done: Bool { remaining == 0 }

        func skipWhitespace(_ p: inout Int) {
            while p < document.count, document[p] == 0x20 || document[p] == 0x0A || document[p] == 0x0D || document[p] == 0x09 {
                p += 1
            }
        }

        mutating func value(_ p: inout Int, node: Int) {
            // Unvalidated input can end where a value should start (imports keeping
            // `server_time` read it before the record is validated).
            guard p < document.count else { return }
            let start = p
            let opener = document[p]
            if !nodes[node].children.isEmpty && opener == UInt8(ascii: "{") {
                object(&p, node: node)
            } else if !nodes[node].children.isEmpty && opener == UInt8(ascii: "[") {
                array(&p, node: node)
            } else {
                skipValue(&p)
            }
            // A truncated string or object leaves `p` past the end; the value ends with the input.
            for terminal in nodes[node].terminals where found[terminal] == nil {
                found[terminal] = start..<min(p, document.count)
                remaining -= 1
            }
        }

        mutating func object(_ p: inout Int, node: Int) {
            p += 1
            while p < document.count, !done {
                skipWhitespace(&p)
                guard p < document.count, document[p] == UInt8(ascii: "\"") else { p += 1; return }
                let keyStart = p + 1
                skipString(&p)
                let key = UnsafeBufferPointer(rebasing: document[keyStart..<max(keyStart, p - 1)])
                skipWhitespace(&p)
                p += 1  // ':'
                skipWhitespace(&p)
                guard p < document.count else { return }
                if let child = child(of: node, matchingKey: key) {
                    value(&p, node: child)
                } else {
                    skipValue(&p)
                }
                skipWhitespace(&p)
                guard p < document.count else { return }
                let separator = document[p]
                p += 1
                if separator != UInt8(ascii: ",") { return }
            }
        }

        mutating func array(_ p: inout Int, node: Int) {
            p += 1
            skipWhitespace(&p)
            if p < document.count, document[p] == UInt8(ascii: "]") { p += 1; return }
            var index = 0
            while p < document.count, !done {
                skipWhitespace(&p)
                if let child = nodes[node].children.first(where: { $0.arrayIndex == index }) {
                    value(&p, node: child.node)
                } else {
                    skipValue(&p)
                }
                index += 1
                skipWhitespace(&p)
                guard p < document.count else { return }
                let separator = document[p]
                p += 1
                if separator != UInt8(ascii: ",") { return }
            }
        }

        func child(of node: Int, matchingKey key: UnsafeBufferPointer<UInt8>) -> Int? {
            for child in nodes[node].children where child.key.count == key.count || key.contains(UInt8(ascii: "\\")) {
                if child.key.count == key.count, child.key.withUnsafeBufferPointer({ $0.elementsEqual(key) }) {
                    return child.node
                }
                if key.contains(UInt8(ascii: "\\")), JSONText.unescape(key) == child.key { return child.node }
            }
            return nil
        }

        /// Leaves `p` just past the closing quote of the string that starts at `p`.
        func skipString(_ p: inout Int) {
            p += 1
            while p < document.count {
                let byte = document[p]
                if byte == UInt8(ascii: "\"") { p += 1; return }
                p += byte == UInt8(ascii: "\\") ? 2 : 1
            }
        }

        func skipValue(_ p: inout Int) {
            guard p < document.count else { return }
            switch document[p] {
            case UInt8(ascii: "\""):
                skipString(&p)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while p < document.count {
                    let byte = document[p]
                    if byte == UInt8(ascii: "\"") { skipString(&p); continue }
                    p += 1
                    if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                        depth += 1
                    } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                        depth -= 1
                        if depth == 0 { return }
                    }
                }
            default:
                while p < document.count {
                    switch document[p] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09: return
                    default: p += 1
                    }
                }
            }
        }
    }
}
