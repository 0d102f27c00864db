import TOMLKit

extension NodeConfig {
    /// Reads a cluster.toml over the defaults, parsing every value into its type. Unknown
    /// tables or keys are errors, so a typo never silently falls back to a default.
    public mutating func apply(toml text: String) throws(ConfigError) {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw ConfigError(key: "", "invalid TOML at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        } catch {
            throw ConfigError(key: "", "invalid TOML: \(error)")
        }
        var reader = TOMLReader(root: root)
        try reader.section("node", ["name", "datacenter", "data_dir", "log_level"]) { (reader) throws(ConfigError) in
            try reader.string("name") { node.name = $0 }
            try reader.string("datacenter") { node.datacenter = $0 }
            try reader.string("data_dir") { node.dataDirectory = $0 }
            try reader.string("log_level", as: ConfigValue.logLevel) { node.logLevel = $0 }
        }
        try reader.section("http", ["address", "max_body_bytes", "max_header_bytes", "max_connections", "reserved_connections",
                                    "idle_timeout_ms", "request_timeout_ms", "shutdown_grace_ms", "access_log", "advertise",
                                    "operator_tokens"]) { (reader) throws(ConfigError) in
            try reader.string("address", as: ConfigValue.address) { http.server.address = $0 }
            try reader.string("advertise", as: ConfigValue.optionalAddress) { http.advertise = $0 }
            try reader.positive("max_body_bytes") { http.server.limits.maxBodyBytes = $0 }
            try reader.positive("max_header_bytes") { http.server.limits.maxHeaderBytes = $0 }
            try reader.positive("max_connections") { http.server.maxConnections = $0 }
            try reader.positive("reserved_connections") { http.server.reservedConnections = $0 }
            try reader.milliseconds("idle_timeout_ms") { http.server.idleTimeoutMilliseconds = $0 }
            try reader.milliseconds("request_timeout_ms") { http.server.requestTimeoutMilliseconds = $0 }
            try reader.milliseconds("shutdown_grace_ms") { http.server.shutdownGraceMilliseconds = $0 }
            try reader.bool("access_log") { http.accessLog = $0 }
            try reader.strings("operator_tokens", as: ConfigValue.operatorTokens) { http.operatorTokens = $0 }
        }
        try reader.section("gossip", ["address", "advertise", "join", "profile", "encrypt_keys"]) { (reader) throws(ConfigError) in
            try reader.string("address", as: ConfigValue.address) { gossip.address = $0 }
            try reader.string("advertise", as: ConfigValue.optionalAddress) { gossip.advertise = $0 }
            try reader.strings("join", as: ConfigValue.addresses) { gossip.seeds = $0 }
            try reader.string("profile", as: ConfigValue.gossipProfile) { gossip.profile = $0 }
            try reader.strings("encrypt_keys", as: ConfigValue.keyring) { gossip.keyring = $0 }
        }
        try reader.section("cluster", ["partitions", "replicas_per_dc", "write_quorum", "read_consistency", "failure_timeout_ms",
                                       "sub_request_timeout_ms", "scan_timeout_ms", "keys", "internal_address"]) { (reader) throws(ConfigError) in
            try reader.int("partitions", in: 1...1_000_000) { cluster.partitions = $0 }
            try reader.int("replicas_per_dc", in: 1...9) { cluster.replicasPerDatacenter = $0 }
            try reader.string("write_quorum", as: ConfigValue.writeQuorum) { cluster.writeQuorum = $0 }
            try reader.string("read_consistency", as: ConfigValue.readConsistency) { cluster.readConsistency = $0 }
            try reader.positive("failure_timeout_ms") { cluster.failureTimeout = .milliseconds($0) }
            try reader.milliseconds("sub_request_timeout_ms") { cluster.subRequestTimeoutMilliseconds = $0 }
            try reader.milliseconds("scan_timeout_ms") { cluster.scanTimeoutMilliseconds = $0 }
            try reader.strings("keys", as: ConfigValue.clusterKeys) { cluster.keys = $0 }
            try reader.string("internal_address", as: ConfigValue.optionalAddress) { cluster.internalAddress = $0 }
        }
        try reader.section("repair", ["interval_ms", "max_records_per_second", "hint_window_ms", "leave_timeout_ms"]) { (reader) throws(ConfigError) in
            try reader.milliseconds("interval_ms") { repair.intervalMilliseconds = $0 }
            try reader.positive("max_records_per_second") { repair.maxRecordsPerSecond = $0 }
            try reader.milliseconds("hint_window_ms") { repair.hintWindowMilliseconds = $0 }
            try reader.milliseconds("leave_timeout_ms") { repair.leaveTimeoutMilliseconds = $0 }
        }
        try reader.section("storage", ["dimensions", "distinct", "adaptive_dimensions", "readers", "durability"]) { (reader) throws(ConfigError) in
            try reader.strings("dimensions", as: ConfigValue.dimensions) { storage.dimensions = $0 }
            try reader.strings("distinct", as: ConfigValue.dimensions) { storage.distinct = $0 }
            try reader.int("adaptive_dimensions", in: 0...64) { storage.adaptiveDimensions = $0 }
            try reader.int("readers", in: 1...64) { storage.readers = $0 }
            try reader.string("durability", as: ConfigValue.durability) { storage.durability = $0 }
        }
        try reader.section("ui", ["chart_library"]) { (reader) throws(ConfigError) in
            try reader.string("chart_library") { ui.chartLibraryPath = $0 }
        }
        try reader.rejectUnknownSections()
    }
}
