import EspyCore

/// How a node reacts to membership news: the pure core between gossip and placement.
///
/// Gossip reports members as it hears of them (`apply`); this keeps the placement view, the
/// routable and writable sets and the membership policy up to date for those members alone, so
/// the work per event does not grow with the cluster. Routing news takes effect at once (a suspect is
/// skipped from the next query on); ownership news (a join, a graceful leave, a removal, a
/// failure outlasting the failure timeout) and the repair round that follows any change are
/// coalesced, as Serf coalesces member events: the node rebuilds placement and compares replicas
/// once a burst has been quiet for `quiescent`, and at the latest `quantum` after its first
/// change. A cluster of 200 forming thus rebuilds a handful of times instead of 200.
///
/// No I/O and no clock: the shell passes `now` and carries out the returned effects, waking
/// `tick` when asked to.
public struct ClusterMembership: Sendable {
    public struct Settings: Sendable {
        public var partitionCount: Int
        public var ownershipRule: OwnershipRule
        public var quiescentMicroseconds: Int64 = 1_000_000
        public var quantumMicroseconds: Int64 = 5_000_000
        /// How stale a placement a write or a query may be given while a burst goes on.
        public var writeFlushMicroseconds: Int64 = 100_000

        public init(partitionCount: Int, ownershipRule: OwnershipRule = OwnershipRule()) {
            self.partitionCount = partitionCount
            self.ownershipRule = ownershipRule
        }
    }

    public enum Change: Sendable {
        /// Gossip's latest word on a member (joined, updated, suspected, recovered, failed, left).
        case reported(Member)
        /// Gossip forgot a member it had declared dead; it keeps its partitions here until the
        /// failure timeout.
        case reaped(MemberName)
        /// An operator removed a member that is not alive (`espymetrics remove`, Serf force-leave).
        case removedByOperator(MemberName)

        /// The member the change is about.
        public var memberName: MemberName {
            switch self {
            case .reported(let member): member.name
            case .reaped(let name), .removedByOperator(let name): name
            }
        }
    }

    public enum Effect: Hashable, Sendable {
        /// Whom requests may go to changed (a member became reachable or not, writable or not,
        /// or moved its HTTP address): plans made before are stale.
        case routingChanged
        /// Ownership changed: rebuild placement from `view`.
        case placementChanged
        /// Compare replicas again: a burst of changes ended.
        case repairRound
        /// Call `tick` at this time, the end of the current coalescing window.
        case wake(at: Timestamp)
        /// Most data members use another partition count: this node must not take part.
        case refuseToJoin(theirPartitions: String)
        /// A member with another partition count is left out of placement.
        case ignoring(MemberName, partitions: String)
    }

    public let selfName: MemberName
    public let settings: Settings
    /// The members placement and routing use: data members that own partitions or are
    /// reachable. What `PartitionMap` is built from on `placementChanged`.
    public private(set) var view: MembershipView
    /// Every member gossip reports now, whatever its role: what operators are shown.
    public private(set) var reported: [MemberName: Member] = [:]
    /// Alive members of `view`, and this node.
    public private(set) var routable: Set<MemberName>
    /// `routable` plus suspect members: writes also try those (a suspicion is often a slow moment).
    public private(set) var writable: Set<MemberName>
    /// Raised whenever `routable` or an address changes: a cache key for plans.
    public private(set) var routingGeneration = 0
    public private(set) var isLeaving = false
    /// How often placement was rebuilt and a repair round requested: the work this saves.
    public private(set) var placementRebuilds = 0
    public private(set) var repairRequests = 0

    /// Data members ever reported, kept after gossip reaps them, so a failed node keeps its
    /// partitions until the failure timeout.
    private var known: [MemberName: Member] = [:]
    private var removedByOperator: Set<MemberName> = []
    /// Known members that are dead and still own partitions: what `tick` re-checks against the
    /// failure timeout.
    private var deadOwners: Set<MemberName> = []
    private var dataPeers = 0
    private var mismatchedPeers: Set<MemberName> = []
    private var placementDirty = false
    private var repairDirty = false
    private var burstStartedAt: Timestamp?
    private var lastChangeAt = Timestamp(microseconds: 0)
    private var lastPlacementAt = Timestamp(microseconds: 0)
    /// Owners in the placement last applied: while it is this node alone, news of peers (the
    /// whole member list a join brings) is applied at once, so a node that just found its
    /// cluster neither places writes on itself alone nor plans reads on a partial view.
    private var appliedOwners = 1

    public init(selfName: MemberName, datacenter: DatacenterName, address: String, settings: Settings) {
        self.selfName = selfName
        self.settings = settings
        let me = Member(name: selfName, datacenter: datacenter, address: address)
        view = MembershipView(partitionCount: settings.partitionCount, members: [me])
        known[selfName] = me
        routable = [selfName]
        writable = [selfName]
    }

    /// The last status seen for a data member, kept after gossip forgot it.
    public func knownStatus(of name: MemberName) -> MemberStatus? { known[name]?.status }

    /// Applies what gossip reported in one go (one packet or stream can tell of many members:
    /// a join's push/pull tells of all of them, and is applied as a whole).
    public mutating func apply(_ changes: [Change], now: Timestamp) -> [Effect] {
        var effects: [Effect] = []
        for change in changes { apply(change, now: now, into: &effects) }
        coalesce(now: now, into: &effects)
        return effects
    }

    public mutating func apply(_ change: Change, now: Timestamp) -> [Effect] {
        apply([change], now: now)
    }

    private mutating func apply(_ change: Change, now: Timestamp, into effects: inout [Effect]) {
        switch change {
        case .reported(let member):
            vote(replacing: reported[member.name], with: member, into: &effects)
            reported[member.name] = member
            guard isData(member) else { return }
            known[member.name] = member
            reevaluate(member.name, now: now, into: &effects)
        case .reaped(let name):
            vote(replacing: reported.removeValue(forKey: name), with: nil, into: &effects)
        case .removedByOperator(let name):
            guard var member = known[name], member.status != .alive else { return }
            member.status = .left
            member.since = now
            known[name] = member
            removedByOperator.insert(name)
            reevaluate(name, now: now, into: &effects)
        }
    }

    /// This node leaves gracefully: it releases its own partitions, at once.
    public mutating func beginLeaving(now: Timestamp) -> [Effect] {
        isLeaving = true
        var effects: [Effect] = []
        reevaluate(selfName, now: now, into: &effects)
        flush(now: now, into: &effects)
        return effects
    }

    /// A write is about to be placed or a query planned: a placement change still waiting for
    /// its burst to end is applied now (at most every `writeFlushMicroseconds`). A write placed
    /// on a map that lacks a new owner gives that owner nothing and no hint, and it would not
    /// know it is behind; a query planned on it reads replicas that may not be the ones writes
    /// now go to (a node that was alone a moment ago reads only itself).
    public mutating func placementForRequest(now: Timestamp) -> [Effect] {
        guard placementDirty, now.microseconds - lastPlacementAt.microseconds >= settings.writeFlushMicroseconds else { return [] }
        placementDirty = false
        return applyPlacement(now: now)
    }

    /// Time passed: members failed for longer than the failure timeout release their
    /// partitions, and a coalescing window that ended is flushed.
    public mutating func tick(now: Timestamp) -> [Effect] {
        var effects: [Effect] = []
        for name in deadOwners.sorted() { reevaluate(name, now: now, into: &effects) }
        coalesce(now: now, into: &effects)
        return effects
    }

    // MARK: Policy

    /// Holds data and agrees on the partition count (every record's partition depends on it).
    private func isData(_ member: Member) -> Bool {
        member.tags[Member.roleTag] == Member.dataRole && !member.address.isEmpty
            && (member.name == selfName || member.tags[Member.partitionsTag] == String(settings.partitionCount))
    }

    /// Keeps the partition-count vote up to date: members tagged as data holders that disagree,
    /// out of all of them. The side in the minority is the one that must not take part.
    private mutating func vote(replacing old: Member?, with new: Member?, into effects: inout [Effect]) {
        let ours = String(settings.partitionCount)
        func isPeer(_ member: Member?) -> Bool { member.map { $0.name != selfName && $0.tags[Member.roleTag] == Member.dataRole } ?? false }
        if isPeer(old) { dataPeers -= 1 }
        if let old { mismatchedPeers.remove(old.name) }
        guard let new, isPeer(new) else { return }
        dataPeers += 1
        let theirs = new.tags[Member.partitionsTag] ?? "none"
        guard theirs != ours else { return }
        mismatchedPeers.insert(new.name)
        if mismatchedPeers.count * 2 > dataPeers {
            effects.append(.refuseToJoin(theirPartitions: theirs))
        } else if old?.tags[Member.partitionsTag] != new.tags[Member.partitionsTag] {
            effects.append(.ignoring(new.name, partitions: theirs))
        }
    }

    // MARK: Placement and routing

    /// Recomputes one member's place in the view from what is known of it.
    private mutating func reevaluate(_ name: MemberName, now: Timestamp, into effects: inout [Effect]) {
        guard var member = known[name] else { return }
        member.ownership = settings.ownershipRule.ownership(status: member.status, statusSince: member.since, now: now,
                                                            removedByOperator: removedByOperator.contains(name))
        if name == selfName && isLeaving { member.ownership = .released }
        let included = member.ownership == .owning || member.status.isRoutable
        let old = view.member(named: name)
        if included { view.update(member) } else { view.remove(named: name) }

        if member.status == .dead && member.ownership == .owning { deadOwners.insert(name) } else { deadOwners.remove(name) }
        let wasOwner = old?.ownership == .owning
        let isOwner = included && member.ownership == .owning
        if wasOwner != isOwner || (isOwner && old?.datacenter != member.datacenter) {
            placementDirty = true
            repairDirty = true
            lastChangeAt = now
        }
        let isRoutable = name == selfName || (included && member.status.isRoutable)
        let isWritable = isRoutable || (included && member.status == .suspect)
        let addressMoved = old != nil && old?.address != member.address
        if isRoutable != routable.contains(name) || addressMoved {
            if isRoutable { routable.insert(name) } else { routable.remove(name) }
            routingGeneration += 1
            repairDirty = true
            lastChangeAt = now
            effects.append(.routingChanged)
        }
        if isWritable != writable.contains(name) {
            if isWritable { writable.insert(name) } else { writable.remove(name) }
            if !effects.contains(.routingChanged) { effects.append(.routingChanged) }
        }
    }

    private mutating func applyPlacement(now: Timestamp) -> [Effect] {
        placementRebuilds += 1
        appliedOwners = view.owners.count
        lastPlacementAt = now
        return [.placementChanged]
    }

    private mutating func coalesce(now: Timestamp, into effects: inout [Effect]) {
        guard placementDirty || repairDirty else { return }
        if burstStartedAt == nil { burstStartedAt = now }
        let deadline = min(lastChangeAt.microseconds + settings.quiescentMicroseconds,
                           burstStartedAt!.microseconds + settings.quantumMicroseconds)
        if now.microseconds >= deadline || (placementDirty && appliedOwners <= 1) {
            flush(now: now, into: &effects)
        } else {
            effects.append(.wake(at: Timestamp(microseconds: deadline)))
        }
    }

    private mutating func flush(now: Timestamp, into effects: inout [Effect]) {
        if placementDirty {
            placementDirty = false
            effects += applyPlacement(now: now)
        }
        if repairDirty {
            repairDirty = false
            repairRequests += 1
            effects.append(.repairRound)
        }
        burstStartedAt = nil
    }
}
