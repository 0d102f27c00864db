import EspyAPI
import EspyCluster
import EspyCore
import EspyHTTP
import EspyHTTPClient
import EspyLoop
import EspyStorage
import Logging

/// What the coordinator needs to know about a member, from gossip.
public struct ClusterMemberInfo: Sendable {
    public let name: String
    public let datacenter: String
    /// Where its HTTP API answers ("host:port"); members without one (a Serf agent) hold no data.
    public let http: String
    public let status: MemberStatus
    public let since: Timestamp

    public init(name: String, datacenter: String, http: String, status: MemberStatus, since: Timestamp) {
        self.name = name
        self.datacenter = datacenter
        self.http = http
        self.status = status
        self.since = since
    }
}

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
    let replicasPerDatacenter: Int
    let logger: Logger
    let ownershipRule: OwnershipRule
    let metrics = CoordinatorMetrics()
    public private(set) var view: MembershipView
    private(set) var map: PartitionMap
    private(set) var httpAddresses: [MemberName: SocketAddress] = [:]
    /// Members ever seen, kept after gossip forgets them (it reaps the dead after ~30 s), so
    /// that a failed node keeps its partitions until the failure timeout.
    var known: [String: ClusterMemberInfo] = [:]
    private var cachedPlan: (key: PlanKey, plan: QueryPlan)?
    /// Per partition: whether this node owns it under `map`.
    private(set) var ownedFlags: [Bool]

    /// Partitions this node owns but must not be read for yet: gained through a map change, or
    /// held since before this process started, and not yet reconciled with every live peer.
    /// Repair removes them as it confirms them.
    public internal(set) var catchingUp: Set<Int> {
        didSet {
            if catchingUp.isEmpty { catchUpTotal = 0 } else if catchingUp.count > oldValue.count { catchUpTotal += catchingUp.count - oldValue.count }
            readinessGeneration += 1
        }
    }
    /// Partitions gained since `catchingUp` was last empty: the denominator of catch-up progress.
    public private(set) var catchUpTotal = 0
    /// False until gossip has found the cluster (or there is none to find): before that the view
    /// may lack the peers holding newer data, so nothing may be declared caught up.
    public var membershipSettled = false
    /// Set by a graceful leave: this node releases every partition and hands them off.
    public internal(set) var isLeaving = false
    /// Called after the partition map changed or a member became reachable or unreachable, so
    /// repair compares again.
    public var onPlacementChange: (() -> Void)?
    /// Replicas that recently declined a read (catching up, or not owners in their own view):
    /// skipped when planning for a while, instead of being asked and declining on every query.
    var declinedElsewhere: Set<PartitionReplica> = [] {
        didSet { readinessGeneration += 1 }
    }
    var declinedSinceMilliseconds: UInt64 = 0
    /// Changes whenever `catchingUp` or `declinedElsewhere` does: the cached plan is keyed on
    /// it, so a count does not rebuild (or hash) thousands of replicas to find the plan fresh.
    private var readinessGeneration = 0
    static let declinedMemoryMilliseconds: UInt64 = 5_000

    private struct PlanKey: Equatable {
        let mapDigest: UInt64
        let routable: Set<MemberName>
        let readinessGeneration: Int
    }

    public var partitionCount: Int { shard.settings.partitionCount }

    public init(loop: EventLoop, shard: Shard, client: HTTPClient, selfName: String, datacenter: String, http: String,
                quorum: WriteQuorum, replicasPerDatacenter: Int = PartitionMap.defaultReplicasPerDatacenter,
                ownershipRule: OwnershipRule = OwnershipRule(), logger: Logger) {
        self.loop = loop
        self.shard = shard
        self.client = client
        self.selfName = MemberName(selfName)
        self.quorum = quorum
        self.replicasPerDatacenter = replicasPerDatacenter
        self.ownershipRule = ownershipRule
        self.logger = logger
        view = MembershipView(partitionCount: shard.settings.partitionCount,
                              members: [Member(name: MemberName(selfName), datacenter: DatacenterName(datacenter), address: http)])
        map = PartitionMap(view: view, replicasPerDatacenter: replicasPerDatacenter)
        ownedFlags = Array(repeating: true, count: shard.settings.partitionCount)
        // Whatever the shard holds may have missed writes while this process was not running.
        catchingUp = Set(0..<shard.settings.partitionCount)
        catchUpTotal = shard.settings.partitionCount
    }

    /// Takes the latest gossip view. The partition map is recomputed only when ownership
    /// changed, which its digest tells.
    public func updateMembership(_ members: [ClusterMemberInfo], now: Timestamp) {
        for member in members where !member.http.isEmpty { known[member.name] = member }
        var next = MembershipView(partitionCount: partitionCount)
        httpAddresses = [:]
        for member in known.values {
            var ownership = ownershipRule.ownership(status: member.status, statusSince: member.since, now: now)
            if member.name == selfName.rawValue && isLeaving { ownership = .released }
            guard ownership == .owning || member.status.isRoutable else { continue }
            next.update(Member(name: MemberName(member.name), datacenter: DatacenterName(member.datacenter),
                               address: member.http, status: member.status, ownership: ownership))
            httpAddresses[MemberName(member.name)] = try? SocketAddress(parsing: member.http)
        }
        // The view's digest covers exactly what placement depends on, so the (costlier) map is
        // rebuilt only when ownership really changed.
        let ownershipChanged = next.digest != view.digest
        let routingChanged = next.routableMembers != view.routableMembers
        view = next
        if ownershipChanged {
            map = PartitionMap(view: next, replicasPerDatacenter: replicasPerDatacenter)
            var owned = Array(repeating: false, count: partitionCount)
            for partition in map.partitions(ownedBy: selfName) { owned[partition] = true }
            var gained = 0
            for partition in 0..<partitionCount where owned[partition] != ownedFlags[partition] {
                if owned[partition] {
                    catchingUp.insert(partition)
                    gained += 1
                } else {
                    catchingUp.remove(partition)
                }
            }
            ownedFlags = owned
            logger.info("partition map changed", metadata: [
                "cluster/owners": "\(next.owners.count)", "cluster/view": "\(next.digestHex)",
                "cluster/gained": "\(gained)", "cluster/owned": "\(owned.lazy.filter { $0 }.count)",
            ])
            onPlacementChange?()
        } else if routingChanged {
            // A replica is back (restarted, or a network partition healed): compare now, so
            // whatever either side missed moves soon. Or one is gone: a partition that was
            // waiting only on it to catch up can be declared caught up with the rest.
            onPlacementChange?()
        }
    }

    /// What `/v1/cluster/partitions` shows: partitions per owner, partitions short of live
    /// replicas, and the view digest (equal on every node that agrees on placement).
    public var partitionSummary: (owned: [(node: String, partitions: Int)], underReplicated: Int, viewDigest: String) {
        let owned = map.ownedPartitionCounts.map { (node: $0.key.description, partitions: $0.value) }.sorted { $0.node < $1.node }
        return (owned, map.partitionsLackingReplicas(routable: routable).count, view.digestHex)
    }

    /// Members reads go to: alive ones only, so a query never waits on a node that may be gone.
    var routable: Set<MemberName> { view.routableMembers.union([selfName]) }

    /// Members writes go to: suspect ones too. A suspicion is often a slow moment, not a
    /// failure; trying costs at most a failed request (which becomes a hint), while skipping
    /// would leave the replica behind until a hint or anti-entropy reaches it.
    var writable: Set<MemberName> {
        routable.union(view.members.filter { $0.status == .suspect }.map(\.name))
    }

    /// A query plan over every partition. Planning 4096 partitions costs far more than a count
    /// answered from rollups, so the plan is built once per map and set of live members and
    /// copied for each query (a value type: copies share storage until they diverge).
    func queryPlan() -> QueryPlan {
        if !declinedElsewhere.isEmpty && loop.nowMilliseconds - declinedSinceMilliseconds > Self.declinedMemoryMilliseconds {
            declinedElsewhere = []
        }
        let key = PlanKey(mapDigest: map.digest, routable: routable, readinessGeneration: readinessGeneration)
        if let cached = cachedPlan, cached.key == key { return cached.plan }
        let catchingUp = declinedElsewhere.union(self.catchingUp.map { PartitionReplica(partition: $0, member: selfName) })
        let plan = QueryPlan(partitions: Array(0..<partitionCount), map: map, view: view, selfName: selfName, routable: routable,
                             catchingUp: catchingUp)
        cachedPlan = (key, plan)
        return plan
    }

    public func export(since: Timestamp?, until: Timestamp?, allowPartial: Bool) -> ResponseBodyStream {
        ClusterExportStream(coordinator: self, since: since, until: until, allowPartial: allowPartial)
    }
}
