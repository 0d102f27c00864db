import EspyCluster
import EspyCore
import EspyGossip
import EspyGossipCluster
import EspyGossipWire

/// The pure part of every simulated node's cluster layer, driven by its gossip events exactly as
/// the node drives it: `MemberReports` turns events into member changes, `ClusterMembership`
/// decides, and on its word placement is rebuilt (`PartitionMap`) and a repair round planned
/// (`RepairRound`). What the node's shell would do with I/O (moving records) is left out; what
/// is counted is the work the decisions cost.
public final class ClusterLayerSimulation {
    public struct Work: Sendable {
        public var placementRebuilds = 0
        public var repairRounds = 0
        /// Digest requests the repair rounds would send (one per peer compared with).
        public var repairComparisons = 0
        /// Member changes applied.
        public var changes = 0
    }

    public let partitionCount: Int
    /// Per node, summed over restarts.
    public private(set) var work: [Work]
    public private(set) var maps: [PartitionMap?]
    private var memberships: [ClusterMembership?]
    private var reports: [MemberReports]

    init(nodeCount: Int, partitionCount: Int) {
        self.partitionCount = partitionCount
        work = Array(repeating: Work(), count: nodeCount)
        maps = Array(repeating: nil, count: nodeCount)
        memberships = Array(repeating: nil, count: nodeCount)
        reports = Array(repeating: MemberReports(), count: nodeCount)
    }

    /// An independent copy, for `GossipSimulation.copy`.
    func copy() -> ClusterLayerSimulation {
        let copy = ClusterLayerSimulation(nodeCount: work.count, partitionCount: partitionCount)
        copy.work = work
        copy.maps = maps
        copy.memberships = memberships
        copy.reports = reports
        return copy
    }

    public func membership(of node: Int) -> ClusterMembership? { memberships[node] }

    /// The tags a node announces, as `Node` announces them.
    func tags(datacenter: Int, httpAddress: String) -> [String: String] {
        [Member.datacenterTag: "dc\(datacenter + 1)", Member.httpTag: httpAddress, Member.roleTag: Member.dataRole,
         "espy_protocol": "1", Member.partitionsTag: String(partitionCount)]
    }

    func start(_ node: Int, name: String, datacenter: Int, httpAddress: String) {
        let settings = ClusterMembership.Settings(partitionCount: partitionCount)
        let membership = ClusterMembership(selfName: MemberName(name), datacenter: DatacenterName("dc\(datacenter + 1)"),
                                           address: httpAddress, settings: settings)
        maps[node] = PartitionMap(view: membership.view)
        memberships[node] = membership
        reports[node] = MemberReports()
    }

    func stop(_ node: Int) {
        memberships[node] = nil
        maps[node] = nil
    }

    /// The events of one batch of directives, as the node's shell hands them over; returns when
    /// the node asked to be woken, if it did.
    func deliver(_ events: [MemberEvent], to node: Int, at now: GossipInstant) -> GossipInstant? {
        guard memberships[node] != nil, !events.isEmpty else { return nil }
        let changes = events.map { reports[node].change(for: $0, now: Self.timestamp(now)) }
        work[node].changes += changes.count
        return carryOut(memberships[node]!.apply(changes, now: Self.timestamp(now)), node: node)
    }

    func wake(_ node: Int, at now: GossipInstant) -> GossipInstant? {
        guard memberships[node] != nil else { return nil }
        return carryOut(memberships[node]!.tick(now: Self.timestamp(now)), node: node)
    }

    private func carryOut(_ effects: [ClusterMembership.Effect], node: Int) -> GossipInstant? {
        var wakeAt: GossipInstant?
        for effect in effects {
            switch effect {
            case .placementChanged:
                maps[node] = PartitionMap(view: memberships[node]!.view)
                work[node].placementRebuilds += 1
            case .repairRound:
                let membership = memberships[node]!
                let map = maps[node]!
                let round = RepairRound(map: map, selfName: membership.selfName, routable: membership.routable,
                                        held: Set(map.partitions(ownedBy: membership.selfName)))
                work[node].repairRounds += 1
                work[node].repairComparisons += round.comparisons.count
            case .wake(let at):
                wakeAt = GossipInstant(milliseconds: UInt64(at.microseconds / 1_000))
            case .routingChanged, .refuseToJoin, .ignoring:
                break
            }
        }
        return wakeAt
    }

    static func timestamp(_ instant: GossipInstant) -> Timestamp { Timestamp(microseconds: Int64(instant.milliseconds) * 1_000) }
}
