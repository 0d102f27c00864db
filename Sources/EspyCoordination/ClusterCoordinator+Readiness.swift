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
            if replicaReadiness.isReadable(partition) { readable.append(partition) } else { unavailable.append(partition) }
        }
        return (readable, unavailable)
    }

    public func owns(_ partition: Int) -> Bool { replicaReadiness.owns(partition) }

    /// Repair reconciled these partitions with every live peer: they may be read here now.
    func markCaughtUp(_ partitions: Set<Int>) {
        replicaReadiness.caughtUp(partitions)
    }

    /// This node may have missed writes to these partitions (a coordinator kept hints for
    /// them): it declines reads for those it owns until repair has reconciled them.
    public func markBehind(_ partitions: some Sequence<Int>) {
        if replicaReadiness.markBehind(partitions) { onPlacementChange?() }
    }

    /// Gossip declared this node dead and it refuted: peers may have written around it.
    public func markBehindEverywhere(reason: String) {
        if replicaReadiness.markBehind(0..<partitionCount) { wentBehindEverywhere(reason: reason) }
    }

    private func wentBehindEverywhere(reason: String) {
        metrics.markedBehind.increment()
        onPlacementChange?()
        logger.warning("may have missed writes; reconciling partitions before serving reads for them", metadata: [
            "cluster/reason": "\(reason)", "cluster/catching_up": "\(catchingUp.count)",
        ])
    }

    /// Called by a repeating timer and before every read: a loop that stood still longer than
    /// peers wait for an answer has been written around.
    public func checkForStall() {
        if let stood = replicaReadiness.loopRan(at: loop.nowMilliseconds) {
            wentBehindEverywhere(reason: "the event loop stood still for \(stood) ms")
        }
    }

    /// How often the node calls `checkForStall` when nothing else does.
    public static let stallWatchIntervalMilliseconds: UInt64 = 250

    /// Set while writes to this node's shard fail (a full or failing disk): the last error.
    public var storageFailure: String? { replicaReadiness.storageFailure }

    /// What a write to this node's shard did: a failure makes its partitions catch up and the
    /// node not ready, said once per failing spell rather than per write.
    public func noteLocalWrite(partitions: some Sequence<Int>, failure: String?) {
        if failure != nil { metrics.localWriteFailures.increment() }
        let catchingUpBefore = catchingUp.count
        switch replicaReadiness.localWrite(partitions: partitions, failure: failure) {
        case .none: break
        case .startedFailing:
            logger.error("local writes are failing; declining reads for what they missed until repaired",
                         metadata: ["storage/error": "\(failure ?? "")", "cluster/catching_up": "\(catchingUp.count)"])
        case .recovered(let lastError):
            logger.info("local writes succeed again", metadata: ["storage/error": "\(lastError)"])
        }
        if catchingUp.count > catchingUpBefore { onPlacementChange?() }
    }

    /// Whether a load balancer should send this node queries: it has found its cluster (or
    /// knows there is none), is not leaving it, its shard takes writes, and every partition has
    /// a replica that may be read.
    public var readiness: Readiness {
        var reasons: [String] = []
        if !membershipSettled { reasons.append(settlingReason) }
        // A leaving node still answers, but its port closes when the handoff ends: a balancer
        // that stops sending it requests now has nothing in flight to it then.
        if isLeaving { reasons.append("leaving the cluster: handing partitions off, then stopping") }
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
