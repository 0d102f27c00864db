import EspyCore

/// How a node names itself in answers.
public struct NodeIdentity: Sendable {
    public let name: String
    public let datacenter: String
    /// This build's version (`BuildVersion.current`), so a mixed-version cluster shows.
    public let version: String

    public init(name: String, datacenter: String, version: String = BuildVersion.current) {
        self.name = name
        self.datacenter = datacenter
        self.version = version
    }
}
