import EspyCore

/// One node as the local node sees it: the one member type of the cluster layer, the node's
/// operator endpoints and the CLI. Gossip reports it (tags decoded once per change), placement
/// reads its name, datacenter and ownership, routing its status and HTTP address.
public struct Member: Hashable, Sendable {
    public var name: MemberName
    public var datacenter: DatacenterName
    /// The HTTP endpoint, "host:port" (the `http` tag); "" for members that serve none (a Serf
    /// agent). Routing only; placement ignores it.
    public var address: String
    public var status: MemberStatus
    public var ownership: Ownership
    /// The gossip address, "ip:port"; "" where unknown.
    public var gossipAddress: String
    /// The member's own gossip counter; it raises it to refute suspicions.
    public var incarnation: UInt32
    /// Serf tags as gossiped (`dc`, `http`, `role`, `partitions`, …).
    public var tags: [String: String]
    /// When `status` last changed, as this node observed it (wall clock).
    public var since: Timestamp

    /// `ownership` defaults to what the status alone implies (`left` releases, everything else
    /// owns). A member failed for longer than the failure timeout must be passed `.released`
    /// explicitly, from `OwnershipRule`, because that needs a clock this type does not have.
    public init(name: MemberName, datacenter: DatacenterName, address: String,
                status: MemberStatus = .alive, ownership: Ownership? = nil, gossipAddress: String = "",
                incarnation: UInt32 = 0, tags: [String: String] = [:], since: Timestamp = Timestamp(microseconds: 0)) {
        self.name = name
        self.datacenter = datacenter
        self.address = address
        self.status = status
        self.ownership = ownership ?? (status == .left ? .released : .owning)
        self.gossipAddress = gossipAddress
        self.incarnation = incarnation
        self.tags = tags
        self.since = since
    }

    /// A member as gossip announces it: datacenter and HTTP address come from its Serf tags.
    public init(name: String, gossipAddress: String, tags: [String: String], status: MemberStatus,
                incarnation: UInt32, since: Timestamp) {
        self.init(name: MemberName(name), datacenter: DatacenterName(tags[Member.datacenterTag] ?? ""),
                  address: tags[Member.httpTag] ?? "", status: status, gossipAddress: gossipAddress,
                  incarnation: incarnation, tags: tags, since: since)
    }

    /// Where node-to-node requests go: the `internal` tag of a member with its own internal
    /// listener (`[cluster] internal_address`), else its HTTP address.
    public var internalAddress: String {
        guard let own = tags[Member.internalAddressTag], !own.isEmpty else { return address }
        return own
    }

    public static let datacenterTag = "dc"
    public static let httpTag = "http"
    public static let internalAddressTag = "internal"
    public static let roleTag = "role"
    public static let partitionsTag = "partitions"
    /// The `role` tag of members that hold data; others (a plain Serf agent) are listed only.
    public static let dataRole = "espymetrics"
}

extension [Member] {
    /// Members per status for each datacenter, every status present (0 where none).
    public var countsByDatacenter: [DatacenterName: [MemberStatus: Int]] {
        var counts: [DatacenterName: [MemberStatus: Int]] = [:]
        for member in self {
            var row = counts[member.datacenter] ?? Dictionary(uniqueKeysWithValues: MemberStatus.allCases.map { ($0, 0) })
            row[member.status, default: 0] += 1
            counts[member.datacenter] = row
        }
        return counts
    }
}
