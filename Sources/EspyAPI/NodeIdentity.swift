/// How a node names itself in answers.
public struct NodeIdentity: Sendable {
    public let name: String
    public let datacenter: String

    public init(name: String, datacenter: String) {
        self.name = name
        self.datacenter = datacenter
    }
}
