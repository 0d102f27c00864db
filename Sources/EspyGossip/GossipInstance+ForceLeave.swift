import EspyGossipWire

/// Operator removal of a failed member, as Serf's `force-leave` does it: a Serf leave intent
/// for that member, gossiped to everyone. Members that see it mark the member `left` (it keeps
/// no claim on anything), Serf agents included; a member that is alive is not affected, since
/// an alive node would only refute.
extension GossipInstance {
    /// Removes `node`, which must not be us. `lTime` must exceed any intent sent for it before.
    public mutating func forceLeave(node: String, lTime: UInt64, now: GossipInstant) -> [GossipDirective] {
        guard node != name else { return [] }
        var out: [GossipDirective] = []
        applyLeaveIntent(SerfLeaveIntent(lTime: lTime, node: node), now: now, into: &out)
        return out
    }

    /// A memberlist user message: Serf's. Only leave intents matter to us; other Serf traffic
    /// (user events, queries) is for Serf agents.
    mutating func handleUser(_ payload: [UInt8], now: GossipInstant, into out: inout [GossipDirective]) {
        guard payload.first == SerfMessageType.leave.rawValue, let intent = try? SerfLeaveIntent(userPayload: payload) else { return }
        applyLeaveIntent(intent, now: now, into: &out)
    }

    /// Applies an intent once (by Lamport time) and passes it on, like Serf's rebroadcast. A
    /// member that already left (the intent came with its own graceful leave) needs nothing more.
    private mutating func applyLeaveIntent(_ intent: SerfLeaveIntent, now: GossipInstant, into out: inout [GossipDirective]) {
        let state = table[intent.node]?.state
        guard intent.node != name, intent.lTime > (leaveIntents[intent.node] ?? 0), state != .alive else { return }
        leaveIntents[intent.node] = intent.lTime
        broadcasts.enqueue(intent.packetMessage, name: nil)
        guard state != .left else { return }
        if state != nil {
            table.update(intent.node) { member in
                member.state = .left
                member.stateChangedAt = now
            }
            failedMembers.removeAll { $0.name == intent.node }
            suspicions.removeValue(forKey: intent.node)
            out.append(.event(.left(table[intent.node]!)))
        }
        out.append(.removed(node: intent.node))
    }
}
