import EspyGossipWire
import Foundation

// Full-state exchange over TCP: periodic anti-entropy, join, Serf's reconnect to failed
// members, and the server side of streams (spec §8, memberlist pushPull/Join/mergeState).

/// Why we opened a stream, so its result goes to the right place.
enum StreamPurpose: Sendable {
    case fallbackPing(seq: UInt32)
    case pushPull
    case join
}

/// A join in progress: one push/pull per seed per round, rounds retried with backoff until
/// one push/pull succeeds.
struct JoinProgress: Sendable {
    var seeds: [GossipAddress] = []
    var outstanding: Set<UInt64> = []
    var isActive = false
    var retryDelayMilliseconds: UInt64 = 0
}

extension GossipInstance {
    // MARK: Join

    /// Joins through `seeds` (push/pull with Join=true to each). Our own address is skipped;
    /// with no other seed we stay a cluster of one. If no seed answers, the join is retried
    /// after `joinRetryInitialMilliseconds`, doubling up to `joinRetryMaximumMilliseconds`.
    /// A new call replaces any join in progress.
    public mutating func join(seeds: [GossipAddress], now: GossipInstant,
                              rng: inout some RandomNumberGenerator) -> [GossipDirective] {
        var unique: [GossipAddress] = []
        for seed in seeds where seed != settings.address && !unique.contains(seed) {
            unique.append(seed)
        }
        joinProgress = JoinProgress(seeds: unique, outstanding: [], isActive: !unique.isEmpty,
                                    retryDelayMilliseconds: settings.joinRetryInitialMilliseconds)
        var out: [GossipDirective] = []
        startJoinRound(into: &out)
        return out
    }

    private mutating func startJoinRound(into out: inout [GossipDirective]) {
        guard joinProgress.isActive else { return }
        for seed in joinProgress.seeds {
            let id = openPushPull(to: seed, join: true, purpose: .join, into: &out)
            joinProgress.outstanding.insert(id)
        }
    }

    mutating func joinRetryFired(into out: inout [GossipDirective]) {
        guard joinProgress.isActive, joinProgress.outstanding.isEmpty else { return }
        startJoinRound(into: &out)
    }

    private mutating func joinAttemptFinished(id: UInt64, succeeded: Bool, into out: inout [GossipDirective]) {
        guard joinProgress.outstanding.remove(id) != nil, joinProgress.isActive else { return }
        if succeeded {
            joinProgress.isActive = false
            joinProgress.outstanding.removeAll()
            return
        }
        if joinProgress.outstanding.isEmpty {
            out.append(.schedule(.joinRetry, afterMilliseconds: joinProgress.retryDelayMilliseconds))
            joinProgress.retryDelayMilliseconds = min(joinProgress.retryDelayMilliseconds * 2,
                                                      max(settings.joinRetryMaximumMilliseconds,
                                                          settings.joinRetryInitialMilliseconds))
        }
    }

    // MARK: Periodic exchanges

    /// Anti-entropy with one random alive member, every push/pull interval scaled for size.
    mutating func pushPullTick(now: GossipInstant, rng: inout some RandomNumberGenerator,
                               into out: inout [GossipDirective]) {
        out.append(.schedule(.pushPull, afterMilliseconds: Self.pushPullInterval(
            base: profile.pushPullIntervalMilliseconds, nodeCount: table.count)))
        guard let peer = table.randomMembers(1, rng: &rng, excluding: { $0.name == name || $0.state != .alive }).first
        else { return }
        _ = openPushPull(to: peer.address, join: false, purpose: .pushPull, into: &out)
    }

    /// memberlist `pushPullScale`: × (ceil(log2(n) − log2(32)) + 1) above 32 members, so that
    /// full-state syncs per second stay roughly flat as the cluster grows.
    static func pushPullInterval(base: UInt64, nodeCount: Int) -> UInt64 {
        let threshold = 32.0
        guard Double(nodeCount) > threshold else { return base }
        let multiplier = (log2(Double(nodeCount)) - log2(threshold)).rounded(.up) + 1
        return UInt64(multiplier) * base
    }

    /// Serf's reconnect: with probability failed/live, a push/pull join with a random failed
    /// member. memberlist never contacts dead members on its own, so after a partition heals
    /// this is what lets the two sides find each other and refute their deaths.
    mutating func reconnectTick(now: GossipInstant, rng: inout some RandomNumberGenerator,
                                into out: inout [GossipDirective]) {
        out.append(.schedule(.reconnect, afterMilliseconds: settings.reconnectIntervalMilliseconds))
        failedMembers.removeAll { now.milliseconds(since: $0.stateChangedAt) > settings.reconnectTimeoutMilliseconds }
        guard !failedMembers.isEmpty, !hasLeft else { return }
        let live = table.order.reduce(0) { count, name in
            count + (table[name]!.state.isDeadOrLeft ? 0 : 1)
        }
        let probability = Double(failedMembers.count) / Double(max(1, live))
        guard Double.random(in: 0..<1, using: &rng) <= probability else { return }
        let target = failedMembers[Int.random(in: 0..<failedMembers.count, using: &rng)]
        counters.reconnectAttempts += 1
        _ = openPushPull(to: target.address, join: true, purpose: .pushPull, into: &out)
    }

    private mutating func openPushPull(to address: GossipAddress, join: Bool, purpose: StreamPurpose,
                                       into out: inout [GossipDirective]) -> UInt64 {
        let id = nextStreamID()
        streams[id] = purpose
        counters.pushPullsStarted += 1
        out.append(.openStream(id: id, to: address, message: .pushPull(localState(join: join)),
                               timeoutMilliseconds: profile.tcpTimeoutMilliseconds))
        return id
    }

    /// Our whole table, ourselves and dead or left members included, in probe order.
    func localState(join: Bool) -> PushPullMessage {
        PushPullMessage(join: join, nodes: table.membersInOrder.map(\.pushNodeState), userState: [])
    }

    // MARK: Streams

    /// An incoming TCP stream's request. Returns the reply to write (nil: just close) and
    /// directives. A push/pull is answered with our state first, then merged, as memberlist does.
    public mutating func streamRequest(_ message: StreamMessage, from: GossipAddress, now: GossipInstant,
                                       rng: inout some RandomNumberGenerator)
        -> (reply: StreamMessage?, directives: [GossipDirective]) {
        switch message {
        case let .pushPull(remote):
            let reply = StreamMessage.pushPull(localState(join: remote.join))
            var out: [GossipDirective] = []
            _ = mergeRemoteState(remote, now: now, rng: &rng, into: &out)
            return (reply, out)
        case let .ping(ping):
            // The TCP fallback ping: ack it if it is for us; otherwise close without a word.
            guard ping.node.isEmpty || ping.node == name else { return (nil, []) }
            return (.ack(AckMessage(seqNo: ping.seqNo, payload: nil)), [])
        case .user, .ack, .error:
            // Reliable user messages are Serf's business; acks and errors are never requests.
            return (nil, [])
        }
    }

    /// An outgoing stream we asked for with `.openStream` has finished.
    public mutating func streamResult(id: UInt64, result: Result<StreamMessage, GossipStreamFailure>,
                                      now: GossipInstant, rng: inout some RandomNumberGenerator) -> [GossipDirective] {
        guard let purpose = streams.removeValue(forKey: id) else { return [] }
        var out: [GossipDirective] = []
        switch purpose {
        case let .fallbackPing(seq):
            fallbackPingFinished(seq: seq, result: result, now: now, rng: &rng, into: &out)
        case .pushPull, .join:
            var merged = false
            if case let .success(.pushPull(remote)) = result {
                merged = mergeRemoteState(remote, now: now, rng: &rng, into: &out)
            }
            if !merged { counters.pushPullFailures += 1 }
            if case .join = purpose {
                joinAttemptFinished(id: id, succeeded: merged, into: &out)
            }
        }
        return out
    }

    /// Merges a peer's state by the same rules as gossip, except that a remote dead or suspect
    /// only makes the node suspect here (we want our own evidence before declaring death).
    /// Returns false, merging nothing, if the versions are incompatible.
    mutating func mergeRemoteState(_ remote: PushPullMessage, now: GossipInstant,
                                   rng: inout some RandomNumberGenerator, into out: inout [GossipDirective]) -> Bool {
        guard versionsAreCompatible(with: remote.nodes) else {
            counters.incompatibleStates += 1
            return false
        }
        for node in remote.nodes {
            switch node.state {
            case .alive:
                let port = node.port == 0 ? settings.address.port : node.port
                handleAlive(AliveMessage(incarnation: node.incarnation, node: node.name, addr: node.addr, port: port,
                                         meta: node.meta, versions: node.versions),
                            now: now, rng: &rng, into: &out)
            case .left:
                handleDead(DeadMessage(incarnation: node.incarnation, node: node.name, from: node.name),
                           now: now, into: &out)
            case .dead, .suspect:
                handleSuspect(SuspectMessage(incarnation: node.incarnation, node: node.name, from: name),
                              now: now, into: &out)
            default:
                break // a state this version does not know: Go ignores it too
            }
        }
        return true
    }

    /// memberlist `verifyProtocol`: every alive node's range, local and remote, must admit
    /// every node's current memberlist and delegate version.
    func versionsAreCompatible(with remote: [PushNodeState]) -> Bool {
        var maxPMin: UInt8 = 0, minPMax: UInt8 = .max, maxDMin: UInt8 = 0, minDMax: UInt8 = .max
        func widen(_ versions: ProtocolVersions) {
            maxPMin = max(maxPMin, versions.protocolMin)
            minPMax = min(minPMax, versions.protocolMax)
            maxDMin = max(maxDMin, versions.delegateMin)
            minDMax = min(minDMax, versions.delegateMax)
        }
        for node in remote where node.state == .alive {
            if let versions = node.versions { widen(versions) }
        }
        let local = table.membersInOrder
        for member in local where member.state == .alive {
            widen(member.protocolVersions)
        }
        func admits(_ versions: ProtocolVersions) -> Bool {
            versions.protocolCurrent >= maxPMin && versions.protocolCurrent <= minPMax
                && versions.delegateCurrent >= maxDMin && versions.delegateCurrent <= minDMax
        }
        return remote.allSatisfy { admits($0.versions ?? Member.unknownVersions) }
            && local.allSatisfy { admits($0.protocolVersions) }
    }
}
