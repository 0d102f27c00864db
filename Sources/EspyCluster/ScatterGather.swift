/// One scatter-gather query as a pure state machine: the events of its sub-requests (answered,
/// declined in part, failed or timed out, refused as bad, their node lost to gossip) and the
/// clock in; what to send, when to look again for stragglers, and when it is done out.
///
/// It keeps the `QueryPlan` (who answers for which partition), collects the partial answers it
/// may merge, and hedges stragglers: a sub-request to a peer outstanding longer than that
/// peer's usual (`HedgeTiming`, shared by every query of a node and passed in) is asked of the
/// next replicas too, within the hedge budget, the first answer winning. The coordinator only
/// carries the actions out, and tests and the simulation drive the same machine.
///
/// A paged query (the export, `init(pagedPlan:)`) is driven by the same plan and the same
/// failure, refusal and decline rules, one page read at a time (see ScatterGather+Pages.swift).
public struct ScatterGather<Partial> {
    public enum Action {
        case send(QueryPlan.SubRequest, Reason)
        /// Call `tick` at this loop time: the earliest moment a pending sub-request becomes a straggler.
        case wake(atMilliseconds: UInt64)
        /// Every sub-request is answered or given up on: `partials` and `plan.coverage` are the answer.
        case finish
    }

    public enum Reason: Hashable, Sendable {
        case initial
        /// Moved from a replica that failed, refused or declined it (counted as a re-plan).
        case replanned
        /// Asked of another replica besides a straggler.
        case hedge
    }

    public internal(set) var plan: QueryPlan
    /// The answers to merge, in arrival order.
    public private(set) var partials: [Partial] = []
    public internal(set) var isFinished = false
    /// Paged queries only: the reads still to do, the first next, and the one being read.
    var pageReads: [PageRead] = []
    var pageInFlight: PageRead?
    private let hedgeCost: Double
    private var sent: [Int: (node: MemberName, atMilliseconds: UInt64)] = [:]
    private var wakeAt: UInt64?

    /// - Parameter hedgeCost: what one hedge takes from the budget (scans cost more than rollup reads).
    public init(plan: QueryPlan, hedgeCost: Double = 1) {
        self.plan = plan
        self.hedgeCost = hedgeCost
    }

    public mutating func start(now: UInt64, timing: inout HedgeTiming) -> [Action] {
        let initial = plan.initialSubRequests
        var actions = initial.map { send($0, .initial, now: now) }
        timing.sent(initial.count { $0.node != plan.selfName })
        settle(now: now, timing: &timing, into: &actions)
        return actions
    }

    /// Sub-request `id` answered with `partial`, declining `declined` of its partitions.
    public mutating func answered(_ id: Int, with partial: Partial, declined: [Int] = [], now: UInt64,
                                  timing: inout HedgeTiming) -> [Action] {
        // Late answers count for the peer's latency too, or a peer whose stragglers are always
        // hedged would look fast forever.
        if let request = sent[id], request.node != plan.selfName {
            timing.observe(request.node, milliseconds: Double(now - request.atMilliseconds))
        }
        guard !isFinished else { return [] }
        var actions: [Action] = []
        if !declined.isEmpty { actions += plan.decline(declined, in: id).map { send($0, .replanned, now: now) } }
        if plan.onAnswer(of: id) == .merge { partials.append(partial) }
        actions += plan.takeResend().map { send($0, .replanned, now: now) }
        settle(now: now, timing: &timing, into: &actions)
        return actions
    }

    /// Sub-request `id` got no usable answer (down, timed out, a 5xx, a malformed body).
    public mutating func failed(_ id: Int, now: UInt64, timing: inout HedgeTiming) -> [Action] {
        guard let node = sent[id]?.node else { return [] }
        return lost(node, now: now, timing: &timing)
    }

    /// Sub-request `id` was judged bad by its node (a 4xx).
    public mutating func refused(_ id: Int, now: UInt64, timing: inout HedgeTiming) -> [Action] {
        guard !isFinished, let node = sent[id]?.node else { return [] }
        var actions = plan.replan(afterRefusalBy: node).map { send($0, .replanned, now: now) }
        settle(now: now, timing: &timing, into: &actions)
        return actions
    }

    /// Gossip stopped routing to `node` (suspected, dead, left): its sub-requests are given up on
    /// at once, long before they would time out.
    public mutating func memberLost(_ node: MemberName, now: UInt64, timing: inout HedgeTiming) -> [Action] {
        guard plan.pendingSubRequests.contains(where: { $0.node == node }) else { return [] }
        return lost(node, now: now, timing: &timing)
    }

    /// The time asked for by the last `wake` came.
    public mutating func tick(now: UInt64, timing: inout HedgeTiming) -> [Action] {
        wakeAt = nil
        var actions: [Action] = []
        settle(now: now, timing: &timing, into: &actions)
        return actions
    }

    private mutating func lost(_ node: MemberName, now: UInt64, timing: inout HedgeTiming) -> [Action] {
        guard !isFinished else { return [] }
        var actions = plan.replan(afterFailureOf: node).map { send($0, .replanned, now: now) }
        settle(now: now, timing: &timing, into: &actions)
        return actions
    }

    private mutating func send(_ request: QueryPlan.SubRequest, _ reason: Reason, now: UInt64) -> Action {
        sent[request.id] = (request.node, now)
        return .send(request, reason)
    }

    /// Finishes when nothing is in flight; otherwise hedges the stragglers that are due and
    /// asks to be woken when the next one will be.
    private mutating func settle(now: UInt64, timing: inout HedgeTiming, into actions: inout [Action]) {
        guard !isFinished else { return }
        if plan.isFinished {
            isFinished = true
            actions.append(.finish)
            return
        }
        var nextDue: UInt64?
        for pending in plan.pendingSubRequests where pending.node != plan.selfName && !plan.isHedged(pending.id) {
            guard let sentAt = sent[pending.id]?.atMilliseconds else { continue }
            let due = sentAt + UInt64(timing.hedgeAfterMilliseconds(pending.node).rounded(.up))
            guard due <= now else {
                nextDue = min(nextDue ?? due, due)
                continue
            }
            guard let fanOut = plan.hedgeFanOut(pending.id), timing.spend(fanOut, costing: hedgeCost) else { continue }
            actions += plan.hedge(pending.id).map { send($0, .hedge, now: now) }
        }
        if let nextDue, wakeAt.map({ nextDue < $0 }) ?? true {
            wakeAt = nextDue
            actions.append(.wake(atMilliseconds: nextDue))
        }
    }
}
