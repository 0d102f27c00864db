/// One node as the local node sees it: enough to place partitions on it and to reach it.
public struct Member: Hashable, Sendable {
    public var name: MemberName
    public var datacenter: DatacenterName
    /// The internal HTTP endpoint, "host:port". Routing only; placement ignores it.
    public var address: String
    public var status: MemberStatus
    public var ownership: Ownership

    /// `ownership` defaults to what the status alone implies (`left` releases, everything else
    /// owns). A member failed for longer than the failure timeout must be passed `.released`
    /// explicitly, from `OwnershipRule`, because that needs a clock this type does not have.
    public init(name: MemberName, datacenter: DatacenterName, address: String,
                status: MemberStatus = .alive, ownership: Ownership? = nil) {
        self.name = name
        self.datacenter = datacenter
        self.address = address
        self.status = status
        self.ownership = ownership ?? (status == .left ? .released : .owning)
    }
}
