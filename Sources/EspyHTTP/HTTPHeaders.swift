/// Header fields in arrival order; names compare case-insensitively (stored lower-cased).
public struct HTTPHeaders: Sendable, Sequence {
    private var fields: [(name: String, value: String)] = []

    public init(_ fields: [(String, String)] = []) {
        for (name, value) in fields { add(name: name, value: value) }
    }

    /// Empties the list, keeping its storage when no request holds it any more: the parser
    /// then fills the same buffer for the next request instead of allocating one.
    public mutating func removeAll() {
        fields.removeAll(keepingCapacity: true)
    }

    public mutating func add(name: String, value: String) {
        fields.append((HTTPHeaders.lowercased(name), value))
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        let key = HTTPHeaders.lowercased(name)
        return fields.first(where: { $0.name == key })?.value
    }

    /// Names are nearly always lower case already (the parser lowers them, callers ask with
    /// literals): checking is cheaper than `lowercased()`, which builds a new string.
    private static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? name.lowercased() : name
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}
