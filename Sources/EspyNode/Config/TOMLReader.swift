import TOMLKit

/// Typed access to one TOML document that names the offending key in every error.
struct TOMLReader {
    let root: TOMLTable
    var seenSections: Set<String> = []
    private var table: TOMLTable?
    private var section = ""

    init(root: TOMLTable) { self.root = root }

    mutating func section(_ name: String, _ keys: Set<String>, _ body: (inout TOMLReader) throws(ConfigError) -> Void) throws(ConfigError) {
        seenSections.insert(name)
        guard let value = root[name] else { return }
        guard let table = value.table else { throw ConfigError(key: name, "must be a table ([\(name)])") }
        if let unknown = table.keys.sorted().first(where: { !keys.contains($0) }) {
            throw ConfigError(key: "\(name).\(unknown)", "unknown key; known keys of [\(name)]: \(keys.sorted().joined(separator: ", "))")
        }
        var nested = self
        nested.table = table
        nested.section = name
        try body(&nested)
    }

    func rejectUnknownSections() throws(ConfigError) {
        if let unknown = root.keys.sorted().first(where: { !seenSections.contains($0) }) {
            throw ConfigError(key: unknown, "unknown section; known: \(seenSections.sorted().joined(separator: ", "))")
        }
    }

    private func fullKey(_ key: String) -> String { "\(section).\(key)" }

    func string(_ key: String, _ apply: (String) -> Void) throws(ConfigError) {
        try string(key, as: { text, _ in text }, apply)
    }

    /// A string the `parse` function turns into its typed value, or refuses naming the key.
    func string<Value>(_ key: String, as parse: (String, _ key: String) throws(ConfigError) -> Value,
                       _ apply: (Value) -> Void) throws(ConfigError) {
        guard let value = table?[key] else { return }
        guard let text = value.string else { throw ConfigError(key: fullKey(key), "must be a string") }
        apply(try parse(text, fullKey(key)))
    }

    func strings<Value>(_ key: String, as parse: ([String], _ key: String) throws(ConfigError) -> Value,
                        _ apply: (Value) -> Void) throws(ConfigError) {
        guard let value = table?[key] else { return }
        guard let array = value.array else { throw ConfigError(key: fullKey(key), "must be an array of strings") }
        var texts: [String] = []
        for element in array {
            guard let text = element.string else { throw ConfigError(key: fullKey(key), "must be an array of strings") }
            texts.append(text)
        }
        apply(try parse(texts, fullKey(key)))
    }

    func bool(_ key: String, _ apply: (Bool) -> Void) throws(ConfigError) {
        guard let value = table?[key] else { return }
        guard let flag = value.bool else { throw ConfigError(key: fullKey(key), "must be true or false") }
        apply(flag)
    }

    func int(_ key: String, in range: ClosedRange<Int>, _ apply: (Int) -> Void) throws(ConfigError) {
        guard let number = try int(key) else { return }
        guard range.contains(number) else {
            throw ConfigError(key: fullKey(key), "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        apply(number)
    }

    func positive(_ key: String, _ apply: (Int) -> Void) throws(ConfigError) {
        guard let number = try int(key) else { return }
        guard number > 0 else { throw ConfigError(key: fullKey(key), "must be greater than 0, got \(number)") }
        apply(number)
    }

    func milliseconds(_ key: String, _ apply: (UInt64) -> Void) throws(ConfigError) {
        try positive(key) { apply(UInt64($0)) }
    }

    private func int(_ key: String) throws(ConfigError) -> Int? {
        guard let value = table?[key] else { return nil }
        guard let number = value.int else { throw ConfigError(key: fullKey(key), "must be an integer") }
        return number
    }
}
