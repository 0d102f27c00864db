import EspyCoordination
import EspyStorage

/// Everything a node is configured with, one typed settings value per table of cluster.toml,
/// parsed and checked once when loaded (`apply(toml:)`, the `serve` flags, `validate()`).
/// Each default is stated once, in its settings type, and where that type wraps a lower
/// module's settings the lower module's default is the one used. Without a file or flags a
/// node serves on 127.0.0.1 with its data in ./data. cluster.toml.example documents each key;
/// keep the two in step.
public struct NodeConfig {
    public var node = NodeSettings()
    public var http = NodeHTTPSettings()
    public var gossip = NodeGossipSettings()
    public var cluster = ClusterSettings()
    /// Also bounds a graceful leave (`leaveTimeoutMilliseconds`).
    public var repair = RepairSettings()
    public var storage = StorageSettings()
    public var ui = UISettings()

    public init() {}

    /// What no single key can check, or what a flag can break after the file was read; run once
    /// the file and the flags are both applied.
    public func validate() throws(ConfigError) {
        guard !node.name.isEmpty else { throw ConfigError(key: "node.name", "must not be empty") }
        guard !node.datacenter.isEmpty else { throw ConfigError(key: "node.datacenter", "must not be empty") }
        guard !node.dataDirectory.isEmpty else { throw ConfigError(key: "node.data_dir", "must not be empty") }
        if let listener = cluster.internalAddress {
            if listener.host == "0.0.0.0" || listener.host == "::" {
                throw ConfigError(key: "cluster.internal_address", "must name the address peers reach this node on, not \(listener.host): it is also what the node announces")
            }
            if listener == http.server.address && listener.port != 0 {
                throw ConfigError(key: "cluster.internal_address", "must differ from http.address (\(listener)); leave it unset to serve node-to-node requests there")
            }
        }
        if (gossip.advertise ?? gossip.address).host == "0.0.0.0" {
            throw ConfigError(key: "gossip.advertise", "must be set when gossip.address binds 0.0.0.0: peers need a reachable address")
        }
    }

    /// The shard in the data directory, holding the cluster's partitions.
    var shardSettings: ShardSettings {
        var settings = ShardSettings(path: node.databasePath, partitionCount: cluster.partitions, dimensions: storage.dimensions,
                                     distinctPaths: storage.distinct, readerCount: storage.readers, durability: storage.durability)
        settings.adaptiveLimit = storage.adaptiveDimensions
        return settings
    }
}
