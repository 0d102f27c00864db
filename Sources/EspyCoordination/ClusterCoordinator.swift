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
    let selfName: MemberName
    let quorum: WriteQuorum
    let replicasPerDatacenter: Int
    let logger: Logger
    let ownershipRule: OwnershipRule
    let metrics = CoordinatorMetrics()
    private(set) var view: MembershipView
    private(set) var map: PartitionMap
    private(set) var httpAddresses: [MemberName: SocketAddress] = [:]
    /// Members ever seen, kept after gossip forgets them (it reaps the dead after ~30 s), so
    /// that a failed node keeps its partitions until the failure timeout.
    private var known: [String: ClusterMemberInfo] = [:]
    private var cachedPlan: (key: PlanKey, plan: QueryPlan)?

    private struct PlanKey: Equatable {
        let mapDigest: UInt64
        let routable: Set<MemberName>
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
    }

    /// Takes the latest gossip view. The partition map is recomputed only when ownership
    /// changed, which its digest tells.
    public func updateMembership(_ members: [ClusterMemberInfo], now: Timestamp) {
        for member in members where !member.http.isEmpty { known[member.name] = member }
        var next = MembershipView(partitionCount: partitionCount)
        httpAddresses = [:]
        for member in known.values {
            // A graceful leave would release the node's partitions at once, and nothing moves
            // data yet (handoff is the repair work): a restart would then read its partitions
            // from a runner-up that never held them. Until handoff exists, a member that left
            // keeps its partitions like a failed one, and reads go to its other replicas.
            let ownershipStatus: MemberStatus = member.status == .left ? .dead : member.status
            let ownership = ownershipRule.ownership(status: ownershipStatus, statusSince: member.since, now: now)
            guard ownership == .owning || member.status.isRoutable else { continue }
            next.update(Member(name: MemberName(member.name), datacenter: DatacenterName(member.datacenter),
                               address: member.http, status: member.status, ownership: ownership))
            httpAddresses[MemberName(member.name)] = try? SocketAddress(parsing: member.http)
        }
        // The view's digest covers exactly what placement depends on, so the (costlier) map is
        // rebuilt only when ownership really changed.
        let ownershipChanged = next.digest != view.digest
        view = next
        if ownershipChanged {
            map = PartitionMap(view: next, replicasPerDatacenter: replicasPerDatacenter)
            logger.info("partition map changed", metadata: [
                "cluster/owners": "\(next.owners.count)", "cluster/view": "\(next.digestHex)",
            ])
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
    /// failure; skipping the replica would leave it without the record for good (nothing
    /// repairs it yet), while trying costs at most a failed request.
    var writable: Set<MemberName> {
        routable.union(view.members.filter { $0.status == .suspect }.map(\.name))
    }

    /// A query plan over every partition. Planning 4096 partitions costs far more than a count
    /// answered from rollups, so the plan is built once per map and set of live members and
    /// copied for each query (a value type: copies share storage until they diverge).
    func queryPlan() -> QueryPlan {
        let key = PlanKey(mapDigest: map.digest, routable: routable)
        if let cached = cachedPlan, cached.key == key { return cached.plan }
        let plan = QueryPlan(partitions: Array(0..<partitionCount), map: map, view: view, selfName: selfName, routable: routable)
        cachedPlan = (key, plan)
        return plan
    }

    public func export(since: Timestamp?, until: Timestamp?, allowPartial: Bool) -> ResponseBodyStream {
        ClusterExportStream(coordinator: self, since: since, until: until, allowPartial: allowPartial)
    }
}
