import EspyStorage
import Logging
import TOMLKit

extension NodeConfig {
    /// Reads a cluster.toml over the defaults. Unknown tables or keys are errors, so a typo
    /// never silently falls back to a default.
    public mutating func apply(toml text: String) throws(ConfigError) {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw ConfigError(key: "", "invalid TOML at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        } catch {
            throw ConfigError(key: "", "invalid TOML: \(error)")
        }
        var reader = TOMLReader(root: root)
        try reader.section("node", ["name", "datacenter", "data_dir", "log_level"]) { (reader) throws(ConfigError) in
            try reader.string("name") { name = $0 }
            try reader.string("datacenter") { datacenter = $0 }
            try reader.string("data_dir") { dataDirectory = $0 }
            try reader.string("log_level") { (text) throws(ConfigError) in
                guard let level = Logger.Level(rawValue: text) else {
                    throw ConfigError(key: "node.log_level", "'\(text)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                logLevel = level
            }
        }
        try reader.section("http", ["address", "max_body_bytes", "max_header_bytes", "max_connections", "reserved_connections",
                                    "idle_timeout_ms", "request_timeout_ms", "shutdown_grace_ms", "access_log", "advertise"]) { (reader) throws(ConfigError) in
            try reader.string("address") { httpAddress = $0 }
            try reader.string("advertise") { httpAdvertise = $0 }
            try reader.int("max_body_bytes") { maxBodyBytes = $0 }
            try reader.int("max_header_bytes") { maxHeaderBytes = $0 }
            try reader.int("max_connections") { maxConnections = $0 }
            try reader.int("reserved_connections") { reservedConnections = $0 }
            try reader.int("idle_timeout_ms") { idleTimeoutMilliseconds = $0 }
            try reader.int("request_timeout_ms") { requestTimeoutMilliseconds = $0 }
            try reader.int("shutdown_grace_ms") { shutdownGraceMilliseconds = $0 }
            try reader.bool("access_log") { accessLog = $0 }
        }
        try reader.section("gossip", ["address", "advertise", "join", "profile", "encrypt_keys"]) { (reader) throws(ConfigError) in
            try reader.string("address") { gossipAddress = $0 }
            try reader.string("advertise") { gossipAdvertise = $0 }
            try reader.strings("join") { joinSeeds = $0 }
            try reader.string("profile") { gossipProfile = $0 }
            try reader.strings("encrypt_keys") { encryptKeys = $0 }
        }
        try reader.section("cluster", ["partitions", "replicas_per_dc", "write_quorum", "failure_timeout_ms",
                                       "sub_request_timeout_ms"]) { (reader) throws(ConfigError) in
            try reader.int("partitions") { partitions = $0 }
            try reader.int("replicas_per_dc") { replicasPerDatacenter = $0 }
            try reader.string("write_quorum") { writeQuorum = $0 }
            try reader.int("failure_timeout_ms") { failureTimeoutMilliseconds = $0 }
            try reader.int("sub_request_timeout_ms") { subRequestTimeoutMilliseconds = $0 }
        }
        try reader.section("repair", ["interval_ms", "max_records_per_second", "hint_window_ms", "leave_timeout_ms"]) { (reader) throws(ConfigError) in
            try reader.int("interval_ms") { repairIntervalMilliseconds = $0 }
            try reader.int("max_records_per_second") { repairMaxRecordsPerSecond = $0 }
            try reader.int("hint_window_ms") { hintWindowMilliseconds = $0 }
            try reader.int("leave_timeout_ms") { leaveTimeoutMilliseconds = $0 }
        }
        try reader.section("storage", ["dimensions", "readers", "durability"]) { (reader) throws(ConfigError) in
            try reader.strings("dimensions") { dimensions = $0 }
            try reader.int("readers") { readers = $0 }
            try reader.string("durability") { (text) throws(ConfigError) in
                guard let durability = ShardSettings.Durability(rawValue: text) else {
                    throw ConfigError(key: "storage.durability", "'\(text)' is not 'full' or 'normal'")
                }
                self.durability = durability
            }
        }
        try reader.rejectUnknownSections()
    }
}

/// Typed access to one TOML document that names the offending key in every error.
private struct TOMLReader {
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

    func string(_ key: String, _ apply: (String) throws(ConfigError) -> Void) throws(ConfigError) {
        guard let value = table?[key] else { return }
        guard let text = value.string else { throw ConfigError(key: "\(section).\(key)", "must be a string") }
        try apply(text)
    }

    func bool(_ key: String, _ apply: (Bool) throws(ConfigError) -> Void) throws(ConfigError) {
        guard let value = table?[key] else { return }
        guard let flag = value.bool else { throw ConfigError(key: "\(section).\(key)", "must be true or false") }
        try apply(flag)
    }

    func int(_ key: String, _ apply: (Int) throws(ConfigError) -> Void) throws(ConfigError) {
        guard let value = table?[key] else { return }
        guard let number = value.int else { throw ConfigError(key: "\(section).\(key)", "must be an integer") }
        try apply(number)
    }

    func strings(_ key: String, _ apply: ([String]) throws(ConfigError) -> Void) throws(ConfigError) {
        guard let value = table?[key] else { return }
        guard let array = value.array else { throw ConfigError(key: "\(section).\(key)", "must be an array of strings") }
        var texts: [String] = []
        for element in array {
            guard let text = element.string else { throw ConfigError(key: "\(section).\(key)", "must be an array of strings") }
            texts.append(text)
        }
        try apply(texts)
    }
}
