import Logging

/// Config `[node]`: who this node is and where it keeps its data.
public struct NodeSettings: Equatable {
    /// Unique in the cluster; placement hashes it, so a node back under the same name gets its
    /// partitions back.
    public var name: String = NodeSettings.hostName()
    public var datacenter = "dc1"
    public var dataDirectory = "./data"
    public var logLevel: Logger.Level = .info

    public init() {}

    /// The database file inside the data directory.
    public var databasePath: String { dataDirectory + "/shard.sqlite" }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "espymetrics" }
        let name = String(cString: buffer)
        return name.isEmpty ? "espymetrics" : name
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
