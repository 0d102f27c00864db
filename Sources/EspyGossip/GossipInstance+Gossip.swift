import EspyGossipWire

// Dissemination: the broadcast queue's two outlets, piggy-backing on probe traffic and the
// gossip tick (spec §10, memberlist sendMsg/gossip).

extension GossipInstance {
    /// Queues a claim about `node` for gossip, replacing any older queued claim about it.
    mutating func broadcast(_ message: PacketMessage, about node: String) {
        broadcasts.enqueue(message, name: node)
    }

    /// The transmit limit for the current cluster size.
    var transmitLimit: Int {
        BroadcastQueue.retransmitLimit(multiplier: profile.retransmitMultiplier, nodeCount: table.count)
    }

    /// The UDP budget left for a packet after encryption (bytes).
    private var packetBudget: Int {
        profile.udpBufferSize - settings.encryptionOverheadBytes
    }

    /// Sends `message` with as many queued broadcasts as fit in one packet.
    mutating func sendWithPiggyback(_ message: PacketMessage, to address: GossipAddress,
                                    into out: inout [GossipDirective]) {
        guard !broadcasts.isEmpty else {
            out.append(.send(to: address, messages: [message]))
            return
        }
        let available = packetBudget - message.encoded().count - Compound.headerOverhead
        let extra = broadcasts.take(overhead: Compound.perPartOverhead, limit: available, transmitLimit: transmitLimit,
                                    maximumCount: WireLimits.maximumCompoundParts - 1)
        out.append(.send(to: address, messages: [message] + extra))
    }

    /// Every gossip interval: queued broadcasts to up to `gossipNodes` random members that are
    /// alive, suspect, or dead for less than gossip-to-the-dead time (so the dead can refute).
    mutating func gossipTick(now: GossipInstant, rng: inout some RandomNumberGenerator,
                             into out: inout [GossipDirective]) {
        out.append(.schedule(.gossip, afterMilliseconds: profile.gossipIntervalMilliseconds))
        guard !broadcasts.isEmpty else { return }
        let gossipToTheDead = profile.gossipToTheDeadMilliseconds
        let targets = table.randomMembers(profile.gossipNodes, rng: &rng) { member in
            if member.name == name { return true }
            switch member.state {
            case .alive, .suspect: return false
            case .dead: return now.milliseconds(since: member.stateChangedAt) > gossipToTheDead
            case .left: return true
            }
        }
        let limit = packetBudget - Compound.headerOverhead
        for target in targets {
            let messages = broadcasts.take(overhead: Compound.perPartOverhead, limit: limit,
                                           transmitLimit: transmitLimit, maximumCount: WireLimits.maximumCompoundParts)
            if messages.isEmpty { return }
            out.append(.send(to: target.address, messages: messages))
        }
    }
}
