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
        fields.append((name.lowercased(), value))
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        let key = name.lowercased()
        return fields.first(where: { $0.name == key })?.value
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}
