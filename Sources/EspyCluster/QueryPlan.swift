/// Which node answers for which partition in one scatter-gather query, and what to do when a
/// node fails: the pure core behind `GET /v1/count` and `GET /v1/download/import`.
///
/// Each partition is read from exactly one replica, and a sub-request's answer is merged only if
/// none of its partitions has been handed to another replica since; that is what keeps a query
/// from counting a record twice. A partition no replica answered for is reported missing, never
/// silently dropped.
public struct QueryPlan: Sendable {
    /// One request to one node, for the listed partitions.
    public struct SubRequest: Hashable, Sendable {
        /// Unique within the plan; answers are matched by it, not by node, because one node can
        /// hold a first request and a re-planned one at the same time.
        public let id: Int
        public let node: MemberName
        /// Ascending.
        public let partitions: [Int]
    }

    public enum AnswerDisposition: Hashable, Sendable {
        /// Merge this answer into the result.
        case merge
        /// Drop it: the sub-request is unknown, already answered, or was given up on (its
        /// partitions were re-planned), so merging would count records twice.
        case discard
    }

    public let selfName: MemberName
    /// A cap on tries per partition, first choice included; nil tries each readable replica once.
    public let maxAttemptsPerPartition: Int?
    /// The requests to send first, by node name.
    public private(set) var initialSubRequests: [SubRequest] = []
    /// Planned partitions with no replica that may be read: an answer now would be partial.
    public let unreadablePartitions: Int
    /// The replicas of those partitions, none of which may be read now.
    private let unreadableReplicas: Set<MemberName>

    /// The partitions the query needs, ascending.
    public let plannedPartitions: [Int]
    /// For each planned partition, its readable replicas in preference order.
    private let candidates: [Int: [MemberName]]
    private var tried: [Int: [MemberName]] = [:]
    private var inFlight: [Int: SubRequest] = [:]
    /// Per partition, how many sub-requests in flight cover it (more than one once hedged).
    private var covering: [Int] = []
    /// Sub-requests already hedged, and the hedges themselves: each is hedged at most once.
    private var hedged: Set<Int> = []
    private var resend: [SubRequest] = []
    /// Indexed by partition number: a flag array, because every query touches every partition
    /// and hashing 4096 integers into a Set per query was most of a count's cost when measured.
    private var answered: [Bool] = []
    private var answeredCount = 0
    private var nodesQueried: Set<MemberName> = []
    private var nodesAnswered: Set<MemberName> = []
    private var nodesFailed: Set<MemberName> = []
    private var nodesRefused: Set<MemberName> = []
    /// Nodes given up on in this query; never chosen again.
    private var excluded: Set<MemberName> = []
    private var nextID = 0

    /// - Parameters:
    ///   - partitions: the partitions the query needs (normally all of `0..<partitionCount`).
    ///   - routable: members requests may go to; the local node is always added, since its own
    ///     store needs no network.
    ///   - catchingUp: replicas that gained a partition recently and must not be read for it yet.
    ///   - maxAttemptsPerPartition: nil (the default) lets a partition walk all its readable
    ///     replicas, one re-plan per failure: a killed node refuses connections at once, so this
    ///     costs little and keeps a partition with one surviving replica answered even before
    ///     gossip notices the others are down. A shell that must bound latency by timeouts rather
    ///     than by its overall query deadline can pass 2 (first choice plus one re-plan).
    public init(partitions: [Int], map: PartitionMap, view: MembershipView, selfName: MemberName,
                routable: Set<MemberName>, catchingUp: Set<PartitionReplica> = [],
                maxAttemptsPerPartition: Int? = nil) {
        precondition((maxAttemptsPerPartition ?? 1) >= 1, "a partition needs at least one attempt")
        let selfDatacenter = view.member(named: selfName)?.datacenter
        var datacenterOf: [MemberName: DatacenterName] = [:]
        for member in view.members { datacenterOf[member.name] = member.datacenter }
        var routable = routable
        routable.insert(selfName)

        var candidates: [Int: [MemberName]] = [:]
        let planned = Array(Set(partitions)).sorted()
        for partition in planned {
            candidates[partition] = QueryPlan.preferenceOrder(
                of: map.replicas(of: partition).filter {
                    routable.contains($0) && !catchingUp.contains(PartitionReplica(partition: partition, member: $0))
                },
                partition: partition, selfName: selfName, selfDatacenter: selfDatacenter, datacenterOf: datacenterOf)
        }
        self.selfName = selfName
        self.maxAttemptsPerPartition = maxAttemptsPerPartition
        self.plannedPartitions = planned
        precondition((planned.first ?? 0) >= 0, "partitions are numbered from 0")
        self.answered = Array(repeating: false, count: (planned.last ?? -1) + 1)
        self.covering = Array(repeating: 0, count: (planned.last ?? -1) + 1)
        self.candidates = candidates
        let unreadable = candidates.filter { $0.value.isEmpty }.keys
        self.unreadablePartitions = unreadable.count
        self.unreadableReplicas = Set(unreadable.lazy.flatMap { map.replicas(of: $0) })
        self.initialSubRequests = assign(planned)
    }

    /// Self first (no network), then its own datacenter (low latency), then the rest. Within a
    /// tier the higher rendezvous weight wins, then the lower name: deterministic, and spreads
    /// the partitions a datacenter cannot serve itself over the other datacenters evenly.
    static func preferenceOrder(of replicas: [MemberName], partition: Int, selfName: MemberName,
                                selfDatacenter: DatacenterName?,
                                datacenterOf: [MemberName: DatacenterName]) -> [MemberName] {
        func tier(_ member: MemberName) -> Int {
            if member == selfName { return 0 }
            if let selfDatacenter, datacenterOf[member] == selfDatacenter { return 1 }
            return 2
        }
        return replicas.map { (member: $0, tier: tier($0), weight: PartitionMap.weight(of: $0, partition: partition)) }
            .sorted {
                if $0.tier != $1.tier { return $0.tier < $1.tier }
                if $0.weight != $1.weight { return $0.weight > $1.weight }
                return $0.member < $1.member
            }
            .map(\.member)
    }

    /// The replicas of `partition` that may be read, in preference order.
    public func readableReplicas(of partition: Int) -> [MemberName] { candidates[partition] ?? [] }

    /// The sub-request's answer arrived. It is merged only if none of its partitions has been
    /// answered by another sub-request (a hedge, or the request a hedge raced); the requests it
    /// overlaps are given up, so a partition is never counted twice and a straggler whose
    /// partitions are all answered does not hold the query open.
    public mutating func onAnswer(of id: Int) -> AnswerDisposition {
        guard let request = removeInFlight(id), !request.partitions.contains(where: { answered[$0] }) else { return .discard }
        for partition in request.partitions {
            answered[partition] = true
            answeredCount += 1
        }
        nodesAnswered.insert(request.node)
        // Only hedging makes sub-requests overlap; without it nothing else covers these partitions.
        guard request.partitions.contains(where: { covering[$0] > 0 }) else { return .merge }
        let overlapping = inFlight.values.filter { $0.partitions.contains { answered[$0] } }.map(\.id).sorted()
        var orphans: [Int] = []
        for other in overlapping { orphans += removeInFlight(other)?.partitions ?? [] }
        // A hedge that failed left its partitions to the request it hedged; given up now, they
        // need another replica.
        resend += assign(orphans.sorted())
        return .merge
    }

    /// Whether `id` was hedged, or is a hedge.
    public func isHedged(_ id: Int) -> Bool { hedged.contains(id) }

    /// Sub-requests to send that the plan made on its own while taking an answer (only plans
    /// that hedge make any); the caller sends them after each `onAnswer`.
    public mutating func takeResend() -> [SubRequest] {
        defer { resend = [] }
        return resend
    }

    /// How many sub-requests `hedge(id)` would send; nil where it would send none.
    public func hedgeFanOut(_ id: Int) -> Int? {
        guard let request = inFlight[id], !hedged.contains(id) else { return nil }
        var nodes: Set<MemberName> = []
        for partition in request.partitions {
            guard let replica = nextCandidate(for: partition) else { return nil }
            nodes.insert(replica)
        }
        return nodes.count
    }

    /// Sub-request `id` has been outstanding for long: the same partitions are asked of their
    /// next replicas too, and whichever answers first is taken. Hedges only where every one of
    /// its partitions has another replica to ask (otherwise the first answer is the only way);
    /// each request is hedged once, and hedges are not hedged again. Returns what to send.
    public mutating func hedge(_ id: Int) -> [SubRequest] {
        guard let request = inFlight[id], !hedged.contains(id) else { return [] }
        hedged.insert(id)
        var next: [(partition: Int, node: MemberName)] = []
        for partition in request.partitions {
            guard let replica = nextCandidate(for: partition) else { return [] }
            next.append((partition, replica))
        }
        let requests = send(next)
        hedged.formUnion(requests.map(\.id))
        return requests
    }

    /// Sub-request `id` reached its node, which declined `partitions` (it may not be read for
    /// them: still catching up, or it no longer owns them). Its answer will cover the rest;
    /// those move to their next readable replica, like a failure but for them alone. Call before
    /// `onAnswer(of:)`. Returns the new sub-requests to send.
    public mutating func decline(_ partitions: [Int], in id: Int) -> [SubRequest] {
        guard let request = inFlight[id], !partitions.isEmpty else { return [] }
        let declined = Set(partitions).intersection(request.partitions)
        _ = removeInFlight(id)
        addInFlight(SubRequest(id: id, node: request.node, partitions: request.partitions.filter { !declined.contains($0) }))
        return assign(declined.sorted())
    }

    /// `node` failed or timed out. Every sub-request still in flight to it is given up (a late
    /// answer is discarded), the node is not used again in this query, and each of its
    /// partitions moves once to its next readable replica not yet tried for it (if attempts are
    /// left); should that one fail too, its own failure moves the partition on. Returns the new
    /// sub-requests to send; partitions with nowhere left to go become missing.
    public mutating func replan(afterFailureOf node: MemberName) -> [SubRequest] {
        if inFlight.values.contains(where: { $0.node == node }) { nodesFailed.insert(node) }
        return giveUp(on: node)
    }

    /// `node` answered that the sub-request itself is bad (a 4xx): a version mismatch or a bug in
    /// the asking node, not a failing peer, so it is reported as refusing rather than failed. Its
    /// partitions move on as after a failure (another replica may run another version).
    public mutating func replan(afterRefusalBy node: MemberName) -> [SubRequest] {
        if inFlight.values.contains(where: { $0.node == node }) { nodesRefused.insert(node) }
        return giveUp(on: node)
    }

    private mutating func giveUp(on node: MemberName) -> [SubRequest] {
        let abandoned = inFlight.values.filter { $0.node == node }
        var moved: [Int] = []
        for request in abandoned {
            _ = removeInFlight(request.id)
            moved.append(contentsOf: request.partitions)
        }
        excluded.insert(node)
        return assign(moved.sorted())
    }

    /// No sub-request is in flight: the answer can be built.
    public var isFinished: Bool { inFlight.isEmpty }

    /// Sub-requests sent and not yet answered or given up on, by id.
    public var pendingSubRequests: [SubRequest] { inFlight.values.sorted { $0.id < $1.id } }

    /// Partitions not answered (yet), ascending. Final once `isFinished`.
    public var missingPartitions: [Int] { plannedPartitions.filter { !answered[$0] } }

    public var coverage: Coverage {
        Coverage(partitionsTotal: plannedPartitions.count, partitionsAnswered: answeredCount,
                 missingPartitions: missingPartitions, nodesQueried: nodesQueried.count,
                 nodesAnswered: nodesAnswered.count, nodesFailed: nodesFailed.sorted(),
                 nodesUnavailable: unreadableReplicas.subtracting(nodesFailed).subtracting(nodesRefused).sorted(),
                 nodesRefused: nodesRefused.sorted())
    }

    /// Gives each partition not answered and not covered by a sub-request in flight to its best
    /// untried, non-excluded candidate, one sub-request per node.
    private mutating func assign(_ partitions: [Int]) -> [SubRequest] {
        var next: [(partition: Int, node: MemberName)] = []
        for partition in partitions where !answered[partition] && covering[partition] == 0 {
            if let replica = nextCandidate(for: partition) { next.append((partition, replica)) }
        }
        return send(next)
    }

    private func nextCandidate(for partition: Int) -> MemberName? {
        let triedSoFar = tried[partition, default: []]
        guard triedSoFar.count < maxAttemptsPerPartition ?? Int.max else { return nil }
        return candidates[partition]?.first { !triedSoFar.contains($0) && !excluded.contains($0) }
    }

    private mutating func send(_ assignments: [(partition: Int, node: MemberName)]) -> [SubRequest] {
        var partitionsByNode: [MemberName: [Int]] = [:]
        for (partition, node) in assignments {
            tried[partition, default: []].append(node)
            partitionsByNode[node, default: []].append(partition)
        }
        var requests: [SubRequest] = []
        for node in partitionsByNode.keys.sorted() {
            let request = SubRequest(id: nextID, node: node, partitions: partitionsByNode[node]!)
            nextID += 1
            addInFlight(request)
            nodesQueried.insert(node)
            requests.append(request)
        }
        return requests
    }

    private mutating func addInFlight(_ request: SubRequest) {
        inFlight[request.id] = request
        for partition in request.partitions { covering[partition] += 1 }
    }

    private mutating func removeInFlight(_ id: Int) -> SubRequest? {
        guard let request = inFlight.removeValue(forKey: id) else { return nil }
        for partition in request.partitions { covering[partition] -= 1 }
        return request
    }
}
