import EspyAPI
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
        // A request that arrives as the loop wakes from a pause is read before any timer runs.
        checkForStall()
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

    /// This node may have missed writes to these partitions (a write to its shard failed):
    /// it declines reads for those it owns until repair has reconciled them with their other
    /// replicas, exactly as after a restart.
    public func markBehind(_ partitions: some Sequence<Int>) {
        let owned = partitions.filter { ownedFlags[$0] && !catchingUp.contains($0) }
        guard !owned.isEmpty else { return }
        catchingUp.formUnion(owned)
        behindMarks += 1
        onPlacementChange?()
    }

    /// This node may have missed writes to any partition it owns: its loop stood still for
    /// longer than peers wait for it (SIGSTOP, a swapped-out process), or gossip declared it
    /// dead, so peers may have written around it.
    public func markBehindEverywhere(reason: String) {
        let before = catchingUp.count
        markBehind(0..<partitionCount)
        guard catchingUp.count > before else { return }
        metrics.markedBehind.increment()
        logger.warning("may have missed writes; reconciling partitions before serving reads for them", metadata: [
            "cluster/reason": "\(reason)", "cluster/catching_up": "\(catchingUp.count)",
        ])
    }

    /// Called often (a repeating timer, and before every read): a loop that stood still longer
    /// than peers wait for an answer has been written around, and so is behind everywhere.
    public func checkForStall() {
        let now = loop.nowMilliseconds
        let stood = now - loopLastSeenRunning
        loopLastSeenRunning = now
        guard stood >= subRequestTimeoutMilliseconds + Self.stallWatchIntervalMilliseconds else { return }
        markBehindEverywhere(reason: "the event loop stood still for \(stood) ms")
    }

    /// How often the node calls `checkForStall` when nothing else does.
    public static let stallWatchIntervalMilliseconds: UInt64 = 250

    /// What a write to this node's shard did: a failure makes the node behind on the records'
    /// partitions and not ready (said once per failing spell, not per write); a success ends
    /// the spell, while the partitions stay behind until repair has reconciled them.
    public func noteLocalWrite(partitions: some Sequence<Int>, failure: String?) {
        guard let failure else {
            if let storageFailure {
                logger.info("local writes succeed again", metadata: ["storage/error": "\(storageFailure)"])
                self.storageFailure = nil
            }
            return
        }
        metrics.localWriteFailures.increment()
        markBehind(partitions)
        if storageFailure == nil {
            logger.error("local writes are failing; declining reads for what they missed until repaired",
                         metadata: ["storage/error": "\(failure)", "cluster/catching_up": "\(catchingUp.count)"])
        }
        storageFailure = failure
    }

    /// Whether a load balancer should send this node queries: it has found its cluster (or
    /// knows there is none), its shard takes writes, and every partition has a replica that
    /// may be read.
    public var readiness: Readiness {
        var reasons: [String] = []
        if !membershipSettled { reasons.append(settlingReason) }
        if let storageFailure { reasons.append("writes to this node's shard are failing: \(storageFailure)") }
        let unreadable = unreadablePartitions
        if unreadable > 0 { reasons.append("\(unreadable) of \(partitionCount) partitions have no replica that may be read now") }
        return Readiness(reasons: reasons)
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
