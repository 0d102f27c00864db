import EspyCluster
import EspyCore

/// Which partitions this node may be read for, and the membership changes an operator or a
/// leave makes: what repair and the internal endpoints consult.
extension ClusterCoordinator {
    /// The last status seen for a member, kept after gossip forgot it.
    public func knownStatus(of name: String) -> MemberStatus? { membership.knownStatus(of: MemberName(name)) }

    /// Starts a graceful leave: this node's partitions move to the others; repair hands off the data.
    public func beginLeaving(now: Timestamp) {
        _ = carryOut(membership.beginLeaving(now: now))
    }

    /// Splits `partitions` into those this node may be read for and those it must decline.
    public func readable(_ partitions: [Int]) -> (readable: [Int], unavailable: [Int]) {
        var readable: [Int] = []
        var unavailable: [Int] = []
        readable.reserveCapacity(partitions.count)
        for partition in partitions {
            if ownedFlags[partition] && !catchingUp.contains(partition) { readable.append(partition) } else { unavailable.append(partition) }
        }
        return (readable, unavailable)
    }

    public func owns(_ partition: Int) -> Bool { ownedFlags[partition] }

    /// Repair reconciled these partitions with every live peer: they may be read here now.
    func markCaughtUp(_ partitions: Set<Int>) {
        catchingUp.subtract(partitions)
    }

    /// `node` declined these partitions: plan around it for a while.
    func remember(declined partitions: [Int], by node: MemberName) {
        let new = partitions.map { PartitionReplica(partition: $0, member: node) }.filter { !declinedElsewhere.contains($0) }
        guard !new.isEmpty else { return }
        if declinedElsewhere.isEmpty { declinedSinceMilliseconds = loop.nowMilliseconds }
        declinedElsewhere.formUnion(new)
    }

    /// Partitions every replica of which is alive, readable and not catching up, as far as
    /// this node knows (peers' catching up it learns from their declines).
    public var fullyReplicatedCount: Int {
        let lacking = Set(map.partitionsLackingReplicas(routable: routable))
        let catchingSomewhere = Set(catchingUp).union(declinedElsewhere.map(\.partition))
        return (0..<partitionCount).count { !lacking.contains($0) && !catchingSomewhere.contains($0) }
    }
}
