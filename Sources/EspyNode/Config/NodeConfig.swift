import EspyCore
import EspyGossipWire
import EspyLoop
import EspyStorage
import Logging

/// Everything a node is configured with. Defaults are the embedded configuration: a node with no
/// file and no flags serves on 127.0.0.1 with its data in ./data. cluster.toml.example documents
/// each key; keep the two in step.
public struct NodeConfig {
    // [node]
    public var name: String = NodeConfig.hostName()
    public var datacenter: String = "dc1"
    public var dataDirectory: String = "./data"
    public var logLevel: Logger.Level = .info

    // [http]
    public var httpAddress: String = "127.0.0.1:8888"
    public var maxBodyBytes: Int = 16 * 1024 * 1024
    public var maxHeaderBytes: Int = 32 * 1024
    public var maxConnections: Int = 4096
    /// Places beyond `maxConnections` for node-to-node requests, metrics, health and cluster
    /// endpoints: clients that take every place do not cut this node off from its peers.
    public var reservedConnections: Int = 256
    public var idleTimeoutMilliseconds: Int = 60_000
    public var requestTimeoutMilliseconds: Int = 30_000
    public var shutdownGraceMilliseconds: Int = 10_000
    /// One info-level log line per request (method, path, status, bytes, duration, peer).
    public var accessLog = true

    // [gossip]
    public var gossipAddress: String = "127.0.0.1:7946"
    /// The address peers are told to reach us at; empty means the bind address (which then
    /// must not be 0.0.0.0).
    public var gossipAdvertise: String = ""
    public var joinSeeds: [String] = []
    /// memberlist's timing profile: lan, wan or local.
    public var gossipProfile: String = "lan"
    /// AES keys as base64 (`serf keygen`); the first encrypts, all decrypt. Empty: plaintext.
    public var encryptKeys: [String] = []
    /// The HTTP address peers and operators should use for this node; empty means http.address.
    public var httpAdvertise: String = ""

    // [cluster]
    public var partitions: Int = 4096
    /// Replicas of each partition in every datacenter.
    public var replicasPerDatacenter: Int = 1
    /// Replicas that must commit a record before it is acknowledged: majority, one or all.
    public var writeQuorum: String = "majority"
    /// How long a failed member keeps its partitions before they move to the others (24 h).
    public var failureTimeoutMilliseconds: Int = 24 * 60 * 60 * 1_000
    /// How long a node waits for a peer's answer to a count or replica write before asking
    /// another replica (counts) or keeping a hint (writes).
    public var subRequestTimeoutMilliseconds: Int = 3_000

    // [repair]
    public var repairIntervalMilliseconds: Int = 60_000
    public var repairMaxRecordsPerSecond: Int = 20_000
    public var hintWindowMilliseconds: Int = 3 * 60 * 60 * 1_000
    /// A graceful leave waits at most this long for its partitions to be handed off.
    public var leaveTimeoutMilliseconds: Int = 10 * 60 * 1_000

    // [storage]
    public var dimensions: [String] = ShardSettings.defaultDimensions.map(\.description)
    public var readers: Int = 2
    public var durability: ShardSettings.Durability = .full

    public init() {}

    /// The gossip keyring, or nil for plaintext gossip.
    func gossipKeyring() throws -> Keyring? {
        encryptKeys.isEmpty ? nil : try Keyring(base64Keys: encryptKeys)
    }

    /// The database file inside the data directory.
    public var databasePath: String { dataDirectory + "/shard.sqlite" }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "espymetrics" }
        let name = String(cString: buffer)
        return name.isEmpty ? "espymetrics" : name
    }

    /// Checks every value that can be wrong in a way the types do not catch.
    public func validate() throws(ConfigError) {
        guard !name.isEmpty else { throw ConfigError(key: "node.name", "must not be empty") }
        guard !datacenter.isEmpty else { throw ConfigError(key: "node.datacenter", "must not be empty") }
        guard !dataDirectory.isEmpty else { throw ConfigError(key: "node.data_dir", "must not be empty") }
        try checkAddress(httpAddress, key: "http.address")
        try checkAddress(gossipAddress, key: "gossip.address")
        for seed in joinSeeds { try checkAddress(seed, key: "gossip.join") }
        if !gossipAdvertise.isEmpty { try checkAddress(gossipAdvertise, key: "gossip.advertise") }
        if !httpAdvertise.isEmpty { try checkAddress(httpAdvertise, key: "http.advertise") }
        guard ["lan", "wan", "local"].contains(gossipProfile) else {
            throw ConfigError(key: "gossip.profile", "'\(gossipProfile)' is not lan, wan or local")
        }
        if (gossipAdvertise.isEmpty ? gossipAddress : gossipAdvertise).hasPrefix("0.0.0.0:") {
            throw ConfigError(key: "gossip.advertise", "must be set when gossip.address binds 0.0.0.0: peers need a reachable address")
        }
        do { _ = try gossipKeyring() } catch {
            throw ConfigError(key: "gossip.encrypt_keys", "\(error)")
        }
        try checkPositive(maxBodyBytes, key: "http.max_body_bytes")
        try checkPositive(maxHeaderBytes, key: "http.max_header_bytes")
        try checkPositive(maxConnections, key: "http.max_connections")
        try checkPositive(reservedConnections, key: "http.reserved_connections")
        try checkPositive(idleTimeoutMilliseconds, key: "http.idle_timeout_ms")
        try checkPositive(requestTimeoutMilliseconds, key: "http.request_timeout_ms")
        try checkPositive(shutdownGraceMilliseconds, key: "http.shutdown_grace_ms")
        guard (1...1_000_000).contains(partitions) else {
            throw ConfigError(key: "cluster.partitions", "must be between 1 and 1000000, got \(partitions)")
        }
        guard (1...9).contains(replicasPerDatacenter) else {
            throw ConfigError(key: "cluster.replicas_per_dc", "must be between 1 and 9, got \(replicasPerDatacenter)")
        }
        guard ["majority", "one", "all"].contains(writeQuorum) else {
            throw ConfigError(key: "cluster.write_quorum", "'\(writeQuorum)' is not majority, one or all")
        }
        try checkPositive(failureTimeoutMilliseconds, key: "cluster.failure_timeout_ms")
        try checkPositive(subRequestTimeoutMilliseconds, key: "cluster.sub_request_timeout_ms")
        try checkPositive(repairIntervalMilliseconds, key: "repair.interval_ms")
        try checkPositive(repairMaxRecordsPerSecond, key: "repair.max_records_per_second")
        try checkPositive(hintWindowMilliseconds, key: "repair.hint_window_ms")
        try checkPositive(leaveTimeoutMilliseconds, key: "repair.leave_timeout_ms")
        guard (1...64).contains(readers) else { throw ConfigError(key: "storage.readers", "must be between 1 and 64, got \(readers)") }
        _ = try parsedDimensions()
    }

    func parsedDimensions() throws(ConfigError) -> [FieldPath] {
        var paths: [FieldPath] = []
        for text in dimensions {
            do { paths.append(try FieldPath(parsing: text)) } catch {
                throw ConfigError(key: "storage.dimensions", "\(error)")
            }
        }
        guard Set(paths).count == paths.count else { throw ConfigError(key: "storage.dimensions", "lists a path twice") }
        return paths
    }

    private func checkAddress(_ text: String, key: String) throws(ConfigError) {
        do { _ = try SocketAddress(parsing: text) } catch {
            throw ConfigError(key: key, "'\(text)' is not a numeric HOST:PORT address (e.g. 127.0.0.1:8888)")
        }
    }

    private func checkPositive(_ value: Int, key: String) throws(ConfigError) {
        guard value > 0 else { throw ConfigError(key: key, "must be greater than 0, got \(value)") }
    }
}

/// A configuration problem, naming the key (`http.address`) so the operator knows where to look.
public struct ConfigError: Error, CustomStringConvertible {
    public let key: String
    public let reason: String

    public init(key: String, _ reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { key.isEmpty ? reason : "\(key): \(reason)" }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
