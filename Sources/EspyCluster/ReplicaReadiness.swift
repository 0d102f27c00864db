/// Which of its own partitions a node may be read for: the rule that a replica must know, or be
/// told, that it is behind before anyone reads it. Pure: events and the loop clock in, the
/// partitions to decline and what changed out. The coordinator keeps one and consults it for
/// every read; repair takes partitions off it once it has reconciled them.
///
/// A partition is *catching up* when this node owns it but may lack some of its acknowledged
/// records:
/// - all of them when the process starts (it may have missed writes while down);
/// - those it gains when the map changes;
/// - all of them after the loop stood still for longer than peers wait for an answer, or after
///   gossip declared the node dead (peers stop writing to a dead member);
/// - those whose every other replica it cannot reach: the others may be down, or this node may
///   be cut off from them while they go on acknowledging writes without it, and from here the
///   two look alike. They stay catching up while that lasts (nothing to reconcile with is not
///   being caught up), and repair reconciles them once a peer is back;
/// - all of them once a write to its own shard fails (replica writes already on their way to a
///   failing disk fail too, and until they arrive nothing here says which partitions they are
///   for), and those a coordinator kept hints for.
public struct ReplicaReadiness: Sendable {
    public let partitionCount: Int
    /// Partitions owned here that must not be read yet.
    public private(set) var catchingUp: Set<Int>
    /// Partitions gained since `catchingUp` was last empty: the denominator of catch-up progress.
    public private(set) var catchUpTotal: Int
    /// Bumped whenever partitions are marked behind, so a repair round that compared digests
    /// before does not declare them caught up.
    public private(set) var behindMarks = 0
    /// Set while writes to this node's shard fail (a full or failing disk): the last error.
    public private(set) var storageFailure: String?
    /// Changes whenever `catchingUp` does; query plans are cached on it.
    public private(set) var generation = 0
    /// A loop that stood still this long (loop milliseconds) was written around.
    public let stallMilliseconds: UInt64
    private var owned: [Bool]
    /// Owned partitions none of whose other replicas this node can reach.
    public private(set) var cutOff: Set<Int> = []
    private var loopLastSeenRunning: UInt64

    /// A process that starts: every partition is owned and catching up.
    public init(partitionCount: Int, stallMilliseconds: UInt64, now: UInt64) {
        self.partitionCount = partitionCount
        self.stallMilliseconds = stallMilliseconds
        catchingUp = Set(0..<partitionCount)
        catchUpTotal = partitionCount
        owned = Array(repeating: true, count: partitionCount)
        loopLastSeenRunning = now
    }

    public func owns(_ partition: Int) -> Bool { owned[partition] }

    public func isReadable(_ partition: Int) -> Bool { owned[partition] && !catchingUp.contains(partition) }

    /// The map changed: partitions gained catch up, partitions lost are no longer read here.
    /// Returns how many were gained.
    public mutating func placementChanged(owned nowOwned: [Bool]) -> Int {
        precondition(nowOwned.count == partitionCount, "one flag per partition")
        var gained: [Int] = []
        var lost: [Int] = []
        for partition in 0..<partitionCount where nowOwned[partition] != owned[partition] {
            if nowOwned[partition] { gained.append(partition) } else { lost.append(partition) }
        }
        owned = nowOwned
        add(gained)
        remove(lost)
        return gained.count
    }

    /// Repair reconciled these partitions with every live peer: they may be read here now,
    /// unless no peer of theirs is live.
    public mutating func caughtUp(_ partitions: Set<Int>) {
        remove(cutOff.isEmpty ? partitions : partitions.subtracting(cutOff))
    }

    /// Which owned partitions have no other replica this node can reach now. Those newly cut
    /// off go back to catching up. Returns how many were newly cut off, and how many have a
    /// peer again (repair can reconcile those now).
    @discardableResult
    public mutating func reachabilityChanged(cutOff nowCutOff: Set<Int>) -> (cutOff: Int, reconnected: Int) {
        let newly = nowCutOff.subtracting(cutOff).filter { owned[$0] }
        let reconnected = cutOff.subtracting(nowCutOff).count
        cutOff = nowCutOff
        if !newly.isEmpty {
            behindMarks += 1
            add(newly.filter { !catchingUp.contains($0) })
        }
        return (newly.count, reconnected)
    }

    /// This node may have missed writes to these partitions. Returns whether any owned
    /// partition went back to catching up (then repair should run). A partition already
    /// catching up still moves `behindMarks`: a repair round in flight may have reconciled it
    /// just before this write was missed, and must not declare it caught up.
    @discardableResult
    public mutating func markBehind(_ partitions: some Sequence<Int>) -> Bool {
        let ownedHere = partitions.filter { owned[$0] }
        guard !ownedHere.isEmpty else { return false }
        behindMarks += 1
        let newlyBehind = ownedHere.filter { !catchingUp.contains($0) }
        add(newlyBehind)
        return !newlyBehind.isEmpty
    }

    /// Called often (a repeating timer, and before every read, since libuv runs a request that
    /// arrived during a pause before any timer). When the loop stood still for `stallMilliseconds`
    /// or more since the last call, every owned partition goes back to catching up, and how long
    /// it stood is returned (nil otherwise, or when nothing changed).
    public mutating func loopRan(at now: UInt64) -> UInt64? {
        let stood = now - loopLastSeenRunning
        loopLastSeenRunning = now
        guard stood >= stallMilliseconds, markBehind(0..<partitionCount) else { return nil }
        return stood
    }

    public enum StorageChange: Equatable, Sendable {
        case none
        case startedFailing
        case recovered(lastError: String)
    }

    /// A write to this node's shard: the first failure of a spell makes every owned partition
    /// catch up; that failure and the first success after it are returned, to be said once.
    public mutating func localWrite(partitions: some Sequence<Int>, failure: String?) -> StorageChange {
        guard let failure else {
            guard let last = storageFailure else { return .none }
            storageFailure = nil
            return .recovered(lastError: last)
        }
        defer { storageFailure = failure }
        guard storageFailure == nil else {
            markBehind(partitions)
            return .none
        }
        markBehind(0..<partitionCount)
        return .startedFailing
    }

    private mutating func add(_ partitions: some Collection<Int>) {
        guard !partitions.isEmpty else { return }
        let before = catchingUp.count
        catchingUp.formUnion(partitions)
        catchUpTotal += catchingUp.count - before
        generation += 1
    }

    private mutating func remove(_ partitions: some Collection<Int>) {
        guard !partitions.isEmpty else { return }
        catchingUp.subtract(partitions)
        if catchingUp.isEmpty { catchUpTotal = 0 }
        generation += 1
    }
}
