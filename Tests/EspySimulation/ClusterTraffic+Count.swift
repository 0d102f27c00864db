import EspyCluster
import EspyCore

/// One count as it went: the answer, how long it took, and every sub-request it sent.
public struct CountOutcome: Sendable {
    public enum Reason: Sendable {
        /// The plan's first choice for these partitions.
        case firstChoice
        /// A straggler's partitions asked of their next replicas too.
        case hedge
        /// Moved after a failure, or given up by a hedge's winner.
        case replan
    }

    public struct SubRequest: Sendable {
        public let node: Int
        public let partitions: [Int]
        public let reason: Reason
    }

    public let coordinator: Int
    public let latencyMilliseconds: UInt64
    public let coverage: Coverage
    /// Records counted: each partition's count from the one replica whose answer was merged.
    public let recordCount: Int
    public let subRequests: [SubRequest]
}

extension ClusterTraffic {
    /// A count over every partition, coordinated by `coordinator` with the `ScatterGather` that
    /// `ClusterCoordinator.count` carries out: the cached plan, one sub-request per node,
    /// re-plans after failures, and hedges of stragglers within the budget, timed by the
    /// coordinator's `HedgeTiming`. Each replica answers from its shard with no service time:
    /// what is measured is the network.
    public func count(from coordinator: Int, completion: @escaping (CountOutcome) -> Void) {
        var driver = ScatterGather<Int>(plan: queryPlan(coordinator), hedgeCost: settings.hedgeCost)
        let startedAt = simulation.now.milliseconds
        var sent: [CountOutcome.SubRequest] = []
        var hedgeWake = 0

        func perform(_ actions: [ScatterGather<Int>.Action]) {
            for action in actions {
                switch action {
                case .send(let subRequest, let reason):
                    let target = node(named: subRequest.node)
                    let recorded: CountOutcome.Reason = switch reason {
                    case .initial: .firstChoice
                    case .hedge: .hedge
                    case .replanned: .replan
                    }
                    sent.append(CountOutcome.SubRequest(node: target, partitions: subRequest.partitions, reason: recorded))
                    call(from: coordinator, to: target, serve: { [unowned self] in
                        subRequest.partitions.reduce(0) { $0 + shards[target].ids(in: $1).count }
                    }) { [unowned self] answer in
                        let now = simulation.now.milliseconds
                        if let answer {
                            perform(driver.answered(subRequest.id, with: answer, now: now, timing: &hedgeTimings[coordinator]))
                        } else {
                            perform(driver.failed(subRequest.id, now: now, timing: &hedgeTimings[coordinator]))
                        }
                    }
                case .wake(let at):
                    // One timer, restarted: an earlier wake-up still queued is void.
                    hedgeWake += 1
                    let wake = hedgeWake
                    simulation.schedule(at: at) { [unowned self] in
                        if wake == hedgeWake { perform(driver.tick(now: simulation.now.milliseconds, timing: &hedgeTimings[coordinator])) }
                    }
                case .finish:
                    completion(CountOutcome(coordinator: coordinator, latencyMilliseconds: simulation.now.milliseconds - startedAt,
                                            coverage: driver.plan.coverage, recordCount: driver.partials.reduce(0, +), subRequests: sent))
                }
            }
        }
        perform(driver.start(now: startedAt, timing: &hedgeTimings[coordinator]))
    }

    /// The coordinator's plan over every partition, rebuilt only when the map, routing or the
    /// replicas it keeps hints for change. Like the coordinator, it reads no replica it holds
    /// hints for: that one is behind on records only the coordinator knows it missed.
    func queryPlan(_ coordinator: Int) -> QueryPlan {
        guard let membership = membership(coordinator), let map = map(coordinator) else {
            preconditionFailure("node \(coordinator) is not running")
        }
        let hinted = Set(hints[coordinator].filter { !$0.value.isEmpty }.keys.map(memberName))
        let key = PlanKey(mapDigest: map.digest, routingGeneration: membership.routingGeneration, hinted: hinted)
        if let cached = cachedPlans[coordinator], cached.key == key { return cached.plan }
        let plan = QueryPlan(partitions: Array(0..<partitionCount), map: map, view: membership.view,
                             selfName: membership.selfName, routable: membership.routable.subtracting(hinted))
        cachedPlans[coordinator] = (key, plan)
        return plan
    }
}
