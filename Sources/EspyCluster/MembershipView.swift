/// The cluster as one node sees it: every member it knows of, and the partition count fixed for
/// the life of the cluster. Placement (`PartitionMap`) is computed from this alone.
public struct MembershipView: Hashable, Sendable {
    /// Fixed when the cluster is created (config `[cluster] partitions`); a node with another
    /// value must refuse to join, since every record's partition depends on it.
    public static let defaultPartitionCount = 4096

    public let partitionCount: Int
    /// Sorted by name, so iteration, and everything computed from it, is the same on every node.
    public private(set) var members: [Member]

    public init(partitionCount: Int = MembershipView.defaultPartitionCount, members: [Member] = []) {
        precondition(partitionCount > 0, "a cluster needs at least one partition")
        self.partitionCount = partitionCount
        self.members = []
        for member in members {
            precondition(self.member(named: member.name) == nil, "member \(member.name) is listed twice")
            update(member)
        }
    }

    public func member(named name: MemberName) -> Member? {
        let index = insertionIndex(of: name)
        return index < members.count && members[index].name == name ? members[index] : nil
    }

    /// Adds the member, or replaces the one with the same name.
    public mutating func update(_ member: Member) {
        let index = insertionIndex(of: member.name)
        if index < members.count && members[index].name == member.name {
            members[index] = member
        } else {
            members.insert(member, at: index)
        }
    }

    /// Forgets a member entirely. Only for members already `.released`: forgetting an owner
    /// would move its partitions without anyone having decided so.
    public mutating func remove(named name: MemberName) {
        let index = insertionIndex(of: name)
        guard index < members.count && members[index].name == name else { return }
        members.remove(at: index)
    }

    /// The members that hold partitions, by name.
    public var owners: [Member] { members.filter { $0.ownership == .owning } }

    /// The members requests may be sent to right now (alive), owners or not.
    public var routableMembers: Set<MemberName> { Set(members.lazy.filter { $0.status.isRoutable }.map(\.name)) }

    /// A stable 64-bit FNV-1a over a canonical encoding of what placement depends on: the
    /// partition count and each owner's name and datacenter, by name. Equal digests mean equal
    /// partition maps (for the same `replicasPerDatacenter`), which is what operators compare
    /// across nodes. Liveness, addresses and released members are left out: they change without
    /// moving data, and nodes legitimately see them at different moments.
    public var digest: UInt64 {
        var hasher = StableHash.FNV1a64()
        hasher.combine("espy-membership-view-1")
        hasher.combine(UInt64(partitionCount))
        let owners = self.owners
        hasher.combine(UInt64(owners.count))
        for owner in owners {
            hasher.combine(owner.name.rawValue)
            hasher.combine(owner.datacenter.rawValue)
        }
        return hasher.value
    }

    /// `digest` as 16 lower-case hex digits, the form the API shows.
    public var digestHex: String { StableHash.hex(digest) }

    private func insertionIndex(of name: MemberName) -> Int {
        var low = 0
        var high = members.count
        while low < high {
            let middle = (low + high) / 2
            if members[middle].name < name { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
