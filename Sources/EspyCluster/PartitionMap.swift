/// Which members hold each partition: rendezvous (highest-random-weight) hashing, per datacenter.
///
/// For every partition and every datacenter, the `replicasPerDatacenter` owners of that
/// datacenter with the highest `weight(of:partition:)` hold the partition. Every node computes
/// this from its `MembershipView` alone, so equal views give equal maps. Rendezvous hashing
/// moves the minimum when membership changes: a joiner takes exactly the partitions it now wins,
/// and a leaver's partitions go to their runners-up; nothing else moves.
public struct PartitionMap: Hashable, Sendable {
    public static let defaultReplicasPerDatacenter = 1

    public let partitionCount: Int
    public let replicasPerDatacenter: Int
    /// Datacenters with at least one owner, sorted: the order replicas are listed in.
    public let datacenters: [DatacenterName]
    /// How many replicas every partition has: the sum over datacenters of
    /// min(`replicasPerDatacenter`, owners there). The same for all partitions.
    public let replicasPerPartition: Int
    /// The digest of the view this map was computed from.
    public let viewDigest: UInt64
    /// Placement identity: equal for maps that place every partition on the same members.
    /// Covers the view digest and `replicasPerDatacenter`, so a node configured with a different
    /// `replicas_per_dc` shows up as disagreeing even when its view matches. Kept, not computed:
    /// every query's plan lookup compares it.
    public let digest: UInt64

    /// Owners sorted by name; `slots` holds indices into this.
    private let owners: [MemberName]
    /// `replicasPerPartition` owner indices per partition, partition-major, datacenter order,
    /// highest weight first within a datacenter. Flat, because 4096 × 200 must be cheap to build.
    private let slots: [Int32]

    public init(view: MembershipView, replicasPerDatacenter: Int = PartitionMap.defaultReplicasPerDatacenter) {
        precondition(replicasPerDatacenter > 0, "each datacenter needs at least one replica")
        let owners = view.owners
        precondition(owners.count < Int(Int32.max), "too many owners for 32-bit slots")
        var ownersByDatacenter: [DatacenterName: [Int]] = [:]
        for (index, owner) in owners.enumerated() { ownersByDatacenter[owner.datacenter, default: []].append(index) }
        let datacenters = ownersByDatacenter.keys.sorted()

        self.partitionCount = view.partitionCount
        self.replicasPerDatacenter = replicasPerDatacenter
        self.datacenters = datacenters
        self.viewDigest = view.digest
        self.digest = PartitionMap.digest(viewDigest: viewDigest, replicasPerDatacenter: replicasPerDatacenter)
        self.owners = owners.map(\.name)
        let groups = datacenters.map { ownersByDatacenter[$0]! }
        self.replicasPerPartition = groups.reduce(0) { $0 + min(replicasPerDatacenter, $1.count) }
        self.slots = PartitionMap.place(partitionCount: view.partitionCount, groups: groups,
                                        memberKeys: owners.map { PartitionMap.memberKey($0.name) },
                                        replicasPerDatacenter: replicasPerDatacenter,
                                        width: replicasPerPartition)
    }

    /// The partition's replicas: datacenters in name order, highest weight first within each.
    public func replicas(of partition: Int) -> [MemberName] {
        precondition(partition >= 0 && partition < partitionCount, "partition \(partition) out of range")
        let start = partition * replicasPerPartition
        return slots[start..<(start + replicasPerPartition)].map { owners[Int($0)] }
    }

    /// The partitions `member` holds, ascending; empty for a member that owns nothing.
    public func partitions(ownedBy member: MemberName) -> [Int] {
        guard let index = ownerIndex(of: member) else { return [] }
        var owned: [Int] = []
        for partition in 0..<partitionCount {
            let start = partition * replicasPerPartition
            if slots[start..<(start + replicasPerPartition)].contains(index) { owned.append(partition) }
        }
        return owned
    }

    /// The partitions `member` holds none of whose other replicas is in `reachable` (those
    /// with no other replica at all excepted). One pass over the slots, no allocation per
    /// partition: it runs on every change of who is reachable.
    public func partitions(of member: MemberName, withNoOtherReplicaIn reachable: Set<MemberName>) -> Set<Int> {
        guard let index = ownerIndex(of: member), replicasPerPartition > 1 else { return [] }
        let reachableOwner = owners.map { reachable.contains($0) }
        var cutOff: Set<Int> = []
        for partition in 0..<partitionCount {
            let replicas = slots[(partition * replicasPerPartition)..<((partition + 1) * replicasPerPartition)]
            guard replicas.contains(index) else { continue }
            if !replicas.contains(where: { $0 != index && reachableOwner[Int($0)] }) { cutOff.insert(partition) }
        }
        return cutOff
    }

    /// How many partitions each owner holds, including owners that hold none.
    public var ownedPartitionCounts: [MemberName: Int] {
        var counts = [Int](repeating: 0, count: owners.count)
        for slot in slots { counts[Int(slot)] += 1 }
        return Dictionary(uniqueKeysWithValues: zip(owners, counts))
    }

    /// Partitions with fewer than `replicasPerPartition` replicas in `routable`: what
    /// `GET /v1/cluster/partitions` reports as under-replicated right now.
    public func partitionsLackingReplicas(routable: Set<MemberName>) -> [Int] {
        let live = owners.map { routable.contains($0) }
        return (0..<partitionCount).filter { partition in
            let start = partition * replicasPerPartition
            return slots[start..<(start + replicasPerPartition)].contains { !live[Int($0)] }
        }
    }

    /// The rendezvous weight of `member` for `partition`: a 64-bit hash of both that is the same on
    /// every platform. Exposed so the query planner can break ties the same way, and for tests.
    public static func weight(of member: MemberName, partition: Int) -> UInt64 {
        weight(memberKey: memberKey(member), partitionKey: partitionKey(partition))
    }

    private static func digest(viewDigest: UInt64, replicasPerDatacenter: Int) -> UInt64 {
        var hasher = StableHash.FNV1a64()
        hasher.combine("espy-partition-map-1")
        hasher.combine(viewDigest)
        hasher.combine(UInt64(replicasPerDatacenter))
        return hasher.value
    }

    public var digestHex: String { StableHash.hex(digest) }
    /// The digest of the view this map was built from, as `MembershipView.digestHex` gives it.
    public var viewDigestHex: String { StableHash.hex(viewDigest) }

    private func ownerIndex(of member: MemberName) -> Int32? {
        var low = 0
        var high = owners.count
        while low < high {
            let middle = (low + high) / 2
            if owners[middle] < member { low = middle + 1 } else { high = middle }
        }
        return low < owners.count && owners[low] == member ? Int32(low) : nil
    }
}

extension PartitionMap {
    // FNV-1a of the name, then mixed: FNV alone leaves names that differ in one character with
    // correlated hashes. Computed once per member, not once per (member, partition).
    static func memberKey(_ member: MemberName) -> UInt64 { StableHash.mix(StableHash.fnv1a64(member.rawValue)) }

    static func partitionKey(_ partition: Int) -> UInt64 { StableHash.mix(UInt64(partition) &+ StableHash.goldenGamma) }

    static func weight(memberKey: UInt64, partitionKey: UInt64) -> UInt64 { StableHash.mix(memberKey ^ partitionKey) }

    /// The placement loop. `groups` lists owner indices per datacenter, ascending (hence by
    /// name), so an exact weight tie goes to the lower name on every node.
    static func place(partitionCount: Int, groups: [[Int]], memberKeys: [UInt64],
                      replicasPerDatacenter: Int, width: Int) -> [Int32] {
        var slots = [Int32](repeating: 0, count: partitionCount * width)
        var bestWeights = [UInt64](repeating: 0, count: replicasPerDatacenter)
        var bestOwners = [Int32](repeating: 0, count: replicasPerDatacenter)
        for partition in 0..<partitionCount {
            let partitionKey = self.partitionKey(partition)
            var next = partition * width
            for group in groups {
                var chosen = 0
                for owner in group {
                    let weight = self.weight(memberKey: memberKeys[owner], partitionKey: partitionKey)
                    // Insert into the top list, kept sorted by weight descending; strictly greater
                    // wins, so an equal weight keeps the earlier (lower-named) owner ahead.
                    var position = chosen
                    while position > 0 && bestWeights[position - 1] < weight { position -= 1 }
                    guard position < replicasPerDatacenter else { continue }
                    var move = min(chosen, replicasPerDatacenter - 1)
                    while move > position {
                        bestWeights[move] = bestWeights[move - 1]
                        bestOwners[move] = bestOwners[move - 1]
                        move -= 1
                    }
                    bestWeights[position] = weight
                    bestOwners[position] = Int32(owner)
                    chosen = min(chosen + 1, replicasPerDatacenter)
                }
                for rank in 0..<chosen {
                    slots[next] = bestOwners[rank]
                    next += 1
                }
            }
        }
        return slots
    }
}
