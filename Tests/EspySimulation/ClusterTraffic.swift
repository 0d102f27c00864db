import EspyCluster
import EspyCore
import EspyGossip

/// The cluster layer's own traffic on the simulated network: counts, writes, repair and hinted
/// handoff, driven through the pure parts exactly as `ClusterCoordinator`, `ReplicaRepairer`
/// and `HintedHandoff` drive them (`QueryPlan`, `HedgeTiming`, `Coverage`; `WritePlan`,
/// `WriteTracker`; `RepairRound`). Each node's shard is a `SimulatedShard`; only the I/O is
/// simulated: node-to-node HTTP requests become `call`s on the gossip simulation's clock,
/// latencies, partitions and stopped nodes.
///
/// Needs a simulation with a cluster layer (`clusterPartitions`).
public final class ClusterTraffic {
    public struct Settings: Sendable {
        /// `cluster.sub_request_timeout_ms`: counts from rollups and replica writes.
        public var subRequestTimeoutMilliseconds: UInt64 = 3_000
        /// What a hedge sub-request costs from the hedge budget: counts read from rollups
        /// (the usual group-by on declared dimensions) pay `HedgeTiming.scanningHedgeCost`.
        public var hedgeCost: Double = HedgeTiming.scanningHedgeCost
        /// `repair.interval_ms`.
        public var repairIntervalMilliseconds: UInt64 = 60_000
        /// `repair.batch_size`: hints replayed per request.
        public var hintBatchSize = 1_000
        /// Probability that a request or reply leg of a node-to-node request loses a segment
        /// and waits for TCP's retransmission. 0 by default: the simulation's streams are
        /// reliable, and the WAN's loss is modelled on UDP only.
        public var segmentLossRate: Double = 0
        /// Linux's minimum retransmission timeout: a lost segment arrives this much later.
        public var retransmitDelayMilliseconds: UInt64 = 200

        public init() {}
    }

    public let simulation: GossipSimulation
    /// May be changed between requests (a test measures one cluster under two loss models).
    public var settings: Settings
    public let partitionCount: Int
    public internal(set) var shards: [SimulatedShard]
    /// hints[coordinator][replica]: records the coordinator keeps for a replica that missed them, oldest first.
    public internal(set) var hints: [[Int: [RecordID]]]
    /// Hinted records replayed to their replicas so far.
    public internal(set) var hintsDelivered = 0
    /// Per coordinator, as `ClusterCoordinator.hedgeTiming` (kept across queries).
    var hedgeTimings: [HedgeTiming]
    var cachedPlans: [(key: PlanKey, plan: QueryPlan)?]
    var repairers: [RepairState]
    var hintReplaying: [Bool]
    var random: SimulationRandom

    public init(_ simulation: GossipSimulation, settings: Settings = Settings()) {
        guard let cluster = simulation.cluster else { preconditionFailure("the simulation runs no cluster layer") }
        self.simulation = simulation
        self.settings = settings
        partitionCount = cluster.partitionCount
        let nodes = simulation.nodeCount
        shards = Array(repeating: SimulatedShard(), count: nodes)
        hints = Array(repeating: [:], count: nodes)
        hedgeTimings = Array(repeating: HedgeTiming(), count: nodes)
        cachedPlans = Array(repeating: nil, count: nodes)
        repairers = Array(repeating: RepairState(), count: nodes)
        hintReplaying = Array(repeating: false, count: nodes)
        random = SimulationRandom(seed: simulation.configuration.seed ^ 0x7a_ff1c)
    }

    // MARK: - Who is who

    func membership(_ node: Int) -> ClusterMembership? { simulation.cluster!.membership(of: node) }
    func map(_ node: Int) -> PartitionMap? { simulation.cluster!.maps[node] }
    func memberName(_ node: Int) -> MemberName { MemberName(simulation.name(node)) }

    func node(named name: MemberName) -> Int {
        guard let index = simulation.index(of: name.rawValue) else { preconditionFailure("\(name) is not simulated") }
        return index
    }

    // MARK: - Node-to-node requests

    /// One request from `caller` to `target` over a keep-alive connection (one round trip, no
    /// handshake), as `EspyHTTPClient` makes it: `serve` runs on the target when the request
    /// arrives and returns the reply (nil: an error status); `completion` gets the reply, or nil
    /// for a failure — refused by a stopped node after a round trip, or nothing back by the
    /// deadline when a partition cuts either leg. A request to the caller itself is its own
    /// shard: no network, answered on the next turn of the loop. Dropped if the caller stops.
    func call<Reply>(from caller: Int, to target: Int, timeoutMilliseconds: UInt64? = nil,
                     serve: @escaping () -> Reply?, completion: @escaping (Reply?) -> Void) {
        let now = simulation.now.milliseconds
        let life = simulation.epochs[caller]
        let deliver: (Reply?) -> Void = { [simulation] reply in
            guard simulation.epochs[caller] == life, simulation.isRunning(caller) else { return }
            completion(reply)
        }
        guard caller != target else {
            simulation.schedule(at: now) { deliver(serve()) }
            return
        }
        let deadline = now + (timeoutMilliseconds ?? settings.subRequestTimeoutMilliseconds)
        let outbound = leg(from: caller, to: target), inbound = leg(from: target, to: caller)
        guard simulation.canReach(caller, target) else {
            simulation.schedule(at: deadline) { deliver(nil) }
            return
        }
        guard simulation.isRunning(target) else {
            simulation.schedule(at: now + outbound + inbound) { deliver(nil) }
            return
        }
        simulation.schedule(at: now + outbound) { [simulation] in
            guard simulation.isRunning(target), simulation.canReach(caller, target) else {
                simulation.schedule(at: deadline) { deliver(nil) }
                return
            }
            let reply = serve()
            let arrival = simulation.now.milliseconds + inbound
            guard arrival <= deadline else { return simulation.schedule(at: deadline) { deliver(nil) } }
            simulation.schedule(at: arrival) {
                // A cut that began while the reply was on its way leaves the caller waiting.
                guard simulation.canReach(caller, target) else { return simulation.schedule(at: deadline) { deliver(nil) } }
                deliver(reply)
            }
        }
    }

    /// One leg's latency, plus a retransmission when its segment is lost.
    private func leg(from a: Int, to b: Int) -> UInt64 {
        let latency = simulation.latency(from: a, to: b, using: &random)
        return random.chance(settings.segmentLossRate) ? latency + settings.retransmitDelayMilliseconds : latency
    }
}

/// What a cached query plan was built from, as `ClusterCoordinator` keys its own.
struct PlanKey: Equatable {
    let mapDigest: UInt64
    let routingGeneration: Int
    let hinted: Set<MemberName>
}
