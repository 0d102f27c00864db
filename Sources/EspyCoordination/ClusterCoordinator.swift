import EspyAPI
import EspyCluster
import EspyCore
import EspyHTTP
import EspyHTTPClient
import EspyLoop
import EspyStorage
import EspyWire
import Logging

/// The cluster as a `RecordStore`: places each record on its partition's replicas (this node's
/// shard directly, peers over `/internal/v1/records`) and acknowledges it once a write quorum
/// has committed it; answers queries by asking one live replica per partition and merging.
/// Placement and planning are EspyCluster's pure code; this class only sends and collects.
public final class ClusterCoordinator: RecordStore {
    let loop: EventLoop
    let shard: Shard
    let client: HTTPClient
    public let selfName: MemberName
    let quorum: WriteQuorum
    /// What a query without `read_consistency=` gets (config `cluster.read_consistency`).
    let readConsistency: ReadConsistency
    /// Read repair into this node's own shard for a verified query; set by the node to its repairer.
    public var pullLocally: (_ repairs: [PartitionReplica], _ completion: @escaping (Bool) -> Void) -> Void = { $1(false) }
    let replicasPerDatacenter: Int
    /// How long a peer has to answer a count's or a write's sub-request.
    let subRequestTimeoutMilliseconds: UInt64
    /// How long a peer has to answer a count that reads its records rather than its rollups.
    let scanTimeoutMilliseconds: UInt64
    let logger: Logger
    let metrics = CoordinatorMetrics()
    /// Membership as placement and routing see it; changed one member at a time.
    public internal(set) var membership: ClusterMembership
    public var view: MembershipView { membership.view }
    private(set) var map: PartitionMap
    private(set) var httpAddresses: [MemberName: SocketAddress] = [:]
    /// The hosts of every member this node has known (its own included): without a cluster
    /// key, the only clients internal requests are served to.
    public private(set) var memberHosts: Set<String> = []
    private var cachedPlan: (key: PlanKey, plan: QueryPlan)?
    /// Counts waiting for answers, each with what it does when a member it asked stops being routable.
    private var queriesInFlight: [Int: (MemberName) -> Void] = [:]
    private var nextQueryKey = 0
    /// When a sub-request is slow enough to be asked of another replica too.
    var hedgeTiming = HedgeTiming()
    /// Which partitions this node owns and may be read for (pure; see `ReplicaReadiness`).
    public internal(set) var replicaReadiness: ReplicaReadiness
    /// Partitions this node owns but must not be read for yet; repair removes them as it
    /// confirms them.
    public var catchingUp: Set<Int> { replicaReadiness.catchingUp }
    /// Partitions gained since `catchingUp` was last empty: the denominator of catch-up progress.
    public var catchUpTotal: Int { replicaReadiness.catchUpTotal }
    /// False until gossip has found the cluster (or there is none to find): before that the view
    /// may lack the peers holding newer data, so nothing may be declared caught up.
    public var membershipSettled = false
    /// Why membership is not settled yet, for readiness.
    public var settlingReason = "looking for the cluster: no seed has answered yet"
    /// Set by a graceful leave: this node releases every partition and hands them off.
    public var isLeaving: Bool { membership.isLeaving }
    /// Called once a burst of membership changes has settled (the map changed, or a member
    /// became reachable or unreachable), so repair compares again.
    public var onPlacementChange: (() -> Void)?
    /// Called after the partition map was rebuilt, however that came about (gossip, a write
    /// applying pending placement, a leave).
    public var onMapRebuilt: (() -> Void)?
    /// Replicas that recently declined a read (catching up, or not owners in their own view):
    /// skipped when planning for a while, instead of being asked and declining on every query.
    var declinedElsewhere: Set<PartitionReplica> = [] {
        didSet { readinessGeneration += 1 }
    }
    var declinedSinceMilliseconds: UInt64 = 0
    /// Changes whenever `declinedElsewhere` does; with `replicaReadiness.generation` the cached
    /// plan is keyed on it, so a count does not rebuild (or hash) thousands of replicas to find
    /// the plan fresh.
    private var readinessGeneration = 0
    static let declinedMemoryMilliseconds: UInt64 = 5_000

    private struct PlanKey: Equatable {
        let mapDigest: UInt64
        let routingGeneration: Int
        let readinessGeneration: Int
        let catchUpGeneration: Int
        let hinted: Set<MemberName>
    }

    /// How long a peer's answer to a count or replica write is awaited before the count asks
    /// another replica or the write keeps a hint (config `cluster.sub_request_timeout_ms`).
    public static let defaultSubRequestTimeoutMilliseconds: UInt64 = 3_000
    /// A scan's share of 1,000,000 records took 1-3 s per peer on six nodes sharing two cores:
    /// it is work, not a sign of a dead peer, which gossip's suspicion re-plans around anyway
    /// (config `cluster.scan_timeout_ms`).
    public static let defaultScanTimeoutMilliseconds: UInt64 = 30_000

    public var partitionCount: Int { shard.settings.partitionCount }
    /// The digest of the view placement was last built from: it changes only when ownership does.
    public var placementDigest: UInt64 { map.viewDigest }
    public var placementDigestHex: String { map.viewDigestHex }

    /// Sent with replica records: a receiver that is no replica of a record's partition refuses
    /// it when the sender places it by the same view (it was misdirected), and stores it when
    /// the views differ (one of them is behind; repair moves it to its owners if need be).
    var replicaRecordsHeaders: [(name: String, value: String)] {
        [("Content-Type", "application/x-ndjson"), (InternalWire.placementHeader, placementDigestHex)]
    }

    public init(loop: EventLoop, shard: Shard, client: HTTPClient, selfName: String, datacenter: String, http: String,
                quorum: WriteQuorum, readConsistency: ReadConsistency = .default,
                replicasPerDatacenter: Int = PartitionMap.defaultReplicasPerDatacenter,
                membershipSettings: ClusterMembership.Settings? = nil,
                subRequestTimeoutMilliseconds: UInt64 = ClusterCoordinator.defaultSubRequestTimeoutMilliseconds,
                scanTimeoutMilliseconds: UInt64 = ClusterCoordinator.defaultScanTimeoutMilliseconds,
                logger: Logger) {
        self.loop = loop
        self.shard = shard
        self.client = client
        self.selfName = MemberName(selfName)
        self.quorum = quorum
        self.readConsistency = readConsistency
        self.replicasPerDatacenter = replicasPerDatacenter
        self.subRequestTimeoutMilliseconds = subRequestTimeoutMilliseconds
        self.scanTimeoutMilliseconds = scanTimeoutMilliseconds
        self.logger = logger
        membership = ClusterMembership(selfName: MemberName(selfName), datacenter: DatacenterName(datacenter), address: http,
                                       settings: membershipSettings ?? ClusterMembership.Settings(partitionCount: shard.settings.partitionCount))
        map = PartitionMap(view: membership.view, replicasPerDatacenter: replicasPerDatacenter)
        httpAddresses[MemberName(selfName)] = try? SocketAddress(parsing: http)
        if let own = httpAddresses[MemberName(selfName)] { memberHosts.insert(own.host) }
        // A loop that stood still longer than peers wait for an answer was written around.
        replicaReadiness = ReplicaReadiness(partitionCount: shard.settings.partitionCount,
                                            stallMilliseconds: subRequestTimeoutMilliseconds + Self.stallWatchIntervalMilliseconds,
                                            now: loop.nowMilliseconds)
    }

    /// Carries out what membership decided; returns what only the node can act on (waking
    /// `tick` later, refusing to join, logging an ignored member).
    func carryOut(_ effects: [ClusterMembership.Effect]) -> [ClusterMembership.Effect] {
        var forTheNode: [ClusterMembership.Effect] = []
        var routingChanged = false
        for effect in effects {
            switch effect {
            case .routingChanged: routingChanged = true
            case .placementChanged: rebuildPlacement()
            case .repairRound: onPlacementChange?()
            case .wake, .refuseToJoin, .ignoring: forTheNode.append(effect)
            }
        }
        // Once per batch: a push-pull reports a hundred members at once.
        if routingChanged { noteReachability() }
        return forTheNode
    }

    /// Gossip's news of some members, heard together. Counts still waiting on a member that
    /// is no longer routable (suspected, failed, gone) ask its partitions' next replicas now
    /// rather than wait out the sub-request timeout.
    public func apply(_ changes: [ClusterMembership.Change], now: Timestamp) -> [ClusterMembership.Effect] {
        for case .reported(let member) in changes
        where member.name != selfName && httpAddresses[member.name]?.description != member.internalAddress {
            httpAddresses[member.name] = try? SocketAddress(parsing: member.internalAddress)
            // Without a cluster key, requests from a member's either address are the member's.
            for address in [member.internalAddress, member.address] {
                if let host = try? SocketAddress(parsing: address).host { memberHosts.insert(host) }
            }
        }
        let routableBefore = membership.routable
        let effects = carryOut(membership.apply(changes, now: now))
        if !queriesInFlight.isEmpty {
            let lost = changes.lazy.map(\.memberName).filter { routableBefore.contains($0) && !self.routable.contains($0) }
            for name in Set(lost) {
                for abandon in queriesInFlight.values { abandon(name) }
            }
        }
        return effects
    }

    /// Registers a query's reaction to losing a member mid-flight; returns its key for `queryFinished`.
    func queryStarted(onMemberLost abandon: @escaping (MemberName) -> Void) -> Int {
        nextQueryKey += 1
        queriesInFlight[nextQueryKey] = abandon
        return nextQueryKey
    }

    func queryFinished(_ key: Int) { queriesInFlight[key] = nil }

    /// Time passed: failure timeouts and the end of a coalescing window.
    public func tick(now: Timestamp) -> [ClusterMembership.Effect] {
        carryOut(membership.tick(now: now))
    }

    /// Ownership changed: the map is rebuilt, and the partitions this node gained must catch up.
    private func rebuildPlacement() {
        let next = membership.view
        map = PartitionMap(view: next, replicasPerDatacenter: replicasPerDatacenter)
        var owned = Array(repeating: false, count: partitionCount)
        for partition in map.partitions(ownedBy: selfName) { owned[partition] = true }
        let gained = replicaReadiness.placementChanged(owned: owned)
        noteReachability()
        metrics.placementRebuilds.increment()
        logger.info("partition map changed", metadata: [
            "cluster/owners": "\(next.owners.count)", "cluster/view": "\(next.digestHex)",
            "cluster/gained": "\(gained)", "cluster/owned": "\(owned.lazy.filter { $0 }.count)",
        ])
        onMapRebuilt?()
    }

    /// Partitions this node owns whose every other replica gossip has declared dead go back to
    /// catching up, and stay there until a peer of theirs is back and repair has reconciled
    /// with it: this node may be the one cut off, while the others acknowledge writes it never
    /// sees. Suspected peers still count as reachable (writes still go to them), so that a burst
    /// of suspicion under load does not make healthy replicas unreadable.
    private func noteReachability() {
        let cutOff = map.partitions(of: selfName, withNoOtherReplicaIn: writable)
        let change = replicaReadiness.reachabilityChanged(cutOff: cutOff)
        if change.cutOff > 0 {
            logger.warning("no other replica of some partitions is reachable; not read here until one is and they are reconciled",
                           metadata: ["cluster/cut_off": "\(cutOff.count)"])
        }
        if change.reconnected > 0 { onPlacementChange?() }
    }

    /// What `/v1/cluster/partitions` shows: partitions per owner, partitions short of live
    /// replicas, and the view digest (equal on every node that agrees on placement).
    public var partitionSummary: (owned: [(node: String, partitions: Int)], underReplicated: Int, viewDigest: String) {
        let owned = map.ownedPartitionCounts.map { (node: $0.key.description, partitions: $0.value) }.sorted { $0.node < $1.node }
        return (owned, map.partitionsLackingReplicas(routable: routable).count, view.digestHex)
    }

    /// Members reads go to: alive ones only, so a query never waits on a node that may be gone.
    var routable: Set<MemberName> { membership.routable }

    /// Members writes go to: suspect ones too. A suspicion is often a slow moment, not a
    /// failure; trying costs at most a failed request (which becomes a hint), while skipping
    /// would leave the replica behind until a hint or anti-entropy reaches it.
    var writable: Set<MemberName> { membership.writable }

    /// A query plan over every partition. Planning 4096 partitions costs far more than a count
    /// answered from rollups, so the plan is built once per map and set of live members and
    /// copied for each query (a value type: copies share storage until they diverge).
    func queryPlan() -> QueryPlan {
        _ = carryOut(membership.placementForRequest(now: Timestamp.now()))
        refreshPlan()
        return cachedPlan!.plan
    }

    /// Partitions with no replica that may be read now, from the cached plan without copying
    /// it (health checks ask this many times a second).
    var unreadablePartitions: Int {
        refreshPlan()
        return cachedPlan!.plan.unreadablePartitions
    }

    private func refreshPlan() {
        if !declinedElsewhere.isEmpty && loop.nowMilliseconds - declinedSinceMilliseconds > Self.declinedMemoryMilliseconds {
            declinedElsewhere = []
        }
        // A peer this node holds hints for is behind on records only this node knows it missed.
        let hinted = Set(shard.hintCounts.keys.map { MemberName($0) })
        let key = PlanKey(mapDigest: map.digest, routingGeneration: membership.routingGeneration, readinessGeneration: readinessGeneration,
                          catchUpGeneration: replicaReadiness.generation, hinted: hinted)
        if cachedPlan?.key == key { return }
        cachedPlan = (key, makePlan(hinted: hinted))
    }

    /// A plan over every partition that reads no replica known to be behind, nor any in `unverified`.
    func makePlan(hinted: Set<MemberName>? = nil, unverified: Set<PartitionReplica> = []) -> QueryPlan {
        let hinted = hinted ?? Set(shard.hintCounts.keys.map { MemberName($0) })
        let behind = declinedElsewhere.union(self.catchingUp.map { PartitionReplica(partition: $0, member: selfName) })
        return QueryPlan(partitions: Array(0..<partitionCount), map: map, view: view, selfName: selfName,
                         routable: routable.subtracting(hinted), catchingUp: behind.union(unverified))
    }

    public func export(since: Timestamp?, until: Timestamp?, consistency: ReadConsistency?, allowPartial: Bool) -> ResponseBodyStream {
        ClusterExportStream(coordinator: self, since: since, until: until, verified: (consistency ?? readConsistency) == .verified,
                            allowPartial: allowPartial)
    }
}
