import EspyAPI
import EspyCore
import EspyHTTP
import EspyLoop

/// What operators do to the cluster through a node: inspect placement and repair, remove a
/// dead member, make this node leave.
extension Node {
    func serveMembers(_ request: HTTPRequest, _ reply: (HTTPResponse) -> Void) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        reply(.json(.ok, MembersResponse.body(selfName: config.node.name, members: gossip.map { Array($0.members.values) } ?? [])))
    }

    func servePartitions(_ request: HTTPRequest, _ reply: (HTTPResponse) -> Void) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        guard let coordinator, let repairer, let shard else { return reply(.error(.serviceUnavailable, "starting")) }
        let summary = coordinator.partitionSummary
        var owners = JSONObject()
        for (node, partitions) in summary.owned { owners.add(node, partitions) }
        var catchingUp = JSONObject()
        catchingUp.add("partitions", coordinator.catchingUp.count)
        catchingUp.add("done", coordinator.catchUpTotal - coordinator.catchingUp.count)
        catchingUp.add("of", coordinator.catchUpTotal)
        var handingOff = JSONObject()
        let pending = repairer.handoffPending
        handingOff.add("partitions", pending)
        handingOff.add("done", max(0, repairer.handoffTotal - pending))
        handingOff.add("of", max(repairer.handoffTotal, pending))
        var handoff = JSONObject()
        handoff.add("catching_up", object: catchingUp)
        handoff.add("handing_off", object: handingOff)
        handoff.add("records_pulled", repairer.recordsPulled)
        handoff.add("records_pushed", repairer.recordsPushed)
        handoff.add("leaving", coordinator.isLeaving)
        var hints = JSONObject()
        for (peer, count) in shard.hintCounts.sorted(by: { $0.key < $1.key }) { hints.add(peer, count) }
        var answer = JSONObject()
        answer.add("node", config.node.name)
        answer.add("partitions", config.cluster.partitions)
        answer.add("replicas_per_dc", config.cluster.replicasPerDatacenter)
        answer.add("owned", object: owners)
        answer.add("fully_replicated", coordinator.fullyReplicatedCount)
        answer.add("under_replicated", summary.underReplicated)
        answer.add("view_digest", summary.viewDigest)
        answer.add("handoff", object: handoff)
        answer.add("pending_hints", object: hints)
        reply(.json(.ok, answer.body()))
    }

    /// `POST /v1/cluster/remove?node=NAME`: an operator removes a failed member for good; its
    /// partitions move to the others, rebuilt from the remaining replicas.
    func serveRemove(_ request: HTTPRequest, _ reply: (HTTPResponse) -> Void) {
        if let refusal = V1API.refusedParameters(request, allowed: ["node"]) { return reply(refusal) }
        if let refusal = operatorAccess.refusal(of: request, action: "remove") { return reply(refusal) }
        guard let node = request.queryParameter("node"), !node.isEmpty else {
            return reply(.error(.badRequest, "parameter 'node' is required: the name of the member to remove"))
        }
        guard let gossip, let coordinator, !shutdownStarted else { return reply(.error(.serviceUnavailable, "this node is stopping")) }
        guard node != config.node.name else {
            return reply(.error(.conflict, "a node cannot remove itself; use 'espymetrics leave' to take it out gracefully"))
        }
        let status = gossip.members[node]?.status.rawValue ?? coordinator.knownStatus(of: node)?.rawValue
        guard let status else {
            return reply(.error(.notFound, "no member named '\(node)' is known to this node"))
        }
        guard status != "alive" else {
            return reply(.error(.conflict, "'\(node)' is alive; stop it first, or run 'espymetrics leave' on it to hand its data off"))
        }
        // Gossip reports the removal back to this node too, which releases the member's partitions.
        guard gossip.forceLeave(node) else { return reply(.error(.serviceUnavailable, "gossip is not running")) }
        logger.warning("member removed by operator; its partitions move to the remaining members", metadata: ["gossip/member": "\(node)"])
        var answer = JSONObject()
        answer.add("removed", node)
        answer.add("view_digest", coordinator.partitionSummary.viewDigest)
        reply(.json(.ok, answer.body()))
    }

    /// `POST /v1/cluster/leave`: this node hands its partitions off and stops (like SIGTERM).
    func serveLeave(_ request: HTTPRequest, _ reply: (HTTPResponse) -> Void) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        if let refusal = operatorAccess.refusal(of: request, action: "leave") { return reply(refusal) }
        guard !shutdownStarted else { return reply(.error(.conflict, "this node is already stopping")) }
        var answer = JSONObject()
        answer.add("leaving", config.node.name)
        answer.add("partitions_held", shard?.digests.count ?? 0)
        // What the leave will do: hand these off to these members, or stop at once.
        answer.add("partitions_to_hand_off", handoffPlan?.partitions ?? 0)
        answer.add("successors", handoffPlan?.successors ?? 0)
        reply(.json(.accepted, answer.body()))
        // After the reply is on its way: the leave stops gossip and, in the end, HTTP.
        let later = Timer(loop: loop)
        leaveTimers.append(later)
        later.start(after: 0) { [unowned self] in leave(reason: "requested over HTTP") }
    }
}
