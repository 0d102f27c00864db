import EspyGossipWire

/// The SWIM + Lifeguard membership protocol of HashiCorp memberlist 0.2.2, as a pure state
/// machine: events in, directives out. No sockets, no clocks, no global randomness.
///
/// ## Driving it (the shell's whole job)
///
/// ```swift
/// var gossip = GossipInstance(settings: settings)          // settings.problems must be empty
/// run(gossip.start(now: clock.now, rng: &rng))             // timers; a cluster of one
/// run(gossip.join(seeds: seeds, now: clock.now, rng: &rng)) // push/pull join, retried with backoff
///
/// // on a UDP datagram: decode with GossipPacket.decode, then
/// run(gossip.receive(decoded.messages, from: sourceAddress, now: clock.now, rng: &rng))
/// //   (on a decode error: gossip.recordDecodeError())
/// // on an accepted TCP stream, once StreamFraming.decode gives a message:
/// let (reply, directives) = gossip.streamRequest(message, from: peer, now: clock.now, rng: &rng)
/// //   write `reply` if non-nil, close; run(directives)
/// // when a timer we scheduled fires:
/// run(gossip.timerFired(timer, now: clock.now, rng: &rng))
/// // when a stream we opened finishes (exactly once per id, within its timeout):
/// run(gossip.streamResult(id: id, result: .success(reply) /* or .failure(…) */, now: clock.now, rng: &rng))
/// // to leave gracefully (Serf shows "left"), then keep running until
/// // !gossip.isLeaveBroadcastPending or a few seconds pass, then stop:
/// run(gossip.leave(now: clock.now, serfLeaveIntentLTime: lTime, rng: &rng))
/// ```
///
/// `run` executes `[GossipDirective]` in order:
/// - `.send(to:messages:)`: one message bare, several as `Compound`; then `GossipPacket.encode`
///   (compression, optional CRC, encryption). The core already kept piggy-backed packets within
///   `profile.udpBufferSize − settings.encryptionOverheadBytes`.
/// - `.openStream(id:to:message:timeoutMilliseconds:)`: dial, write `StreamFraming.encode(message)`,
///   read one reply, close; report via `streamResult`, `.failure` on any error or deadline.
/// - `.schedule(timer, afterMilliseconds:)`: a one-shot timer. Never cancelled; the core ignores
///   firings that no longer matter.
/// - `.event(MemberEvent)`: membership news for logs, Serf-style listings and the cluster layer.
///
/// Time (`GossipInstant`) must be monotonic. `rng` is any `RandomNumberGenerator`; pass a seeded
/// one to make runs reproducible. No method blocks; the costliest (push/pull, `members`) are
/// linear in the member count. Dictionaries are never iterated, so a run is a function of its
/// inputs and the generator alone (the simulator checks this by comparing trace hashes).
///
/// ## Exact signatures
/// ```swift
/// init(settings: GossipSettings)
/// mutating func start(now: GossipInstant, rng: inout some RandomNumberGenerator) -> [GossipDirective]
/// mutating func join(seeds: [GossipAddress], now: GossipInstant, rng: inout some RandomNumberGenerator) -> [GossipDirective]
/// mutating func receive(_ messages: [PacketMessage], from: GossipAddress, now: GossipInstant,
///                       rng: inout some RandomNumberGenerator) -> [GossipDirective]
/// mutating func timerFired(_ timer: GossipTimer, now: GossipInstant, rng: inout some RandomNumberGenerator) -> [GossipDirective]
/// mutating func streamRequest(_ message: StreamMessage, from: GossipAddress, now: GossipInstant,
///                             rng: inout some RandomNumberGenerator) -> (reply: StreamMessage?, directives: [GossipDirective])
/// mutating func streamResult(id: UInt64, result: Result<StreamMessage, GossipStreamFailure>, now: GossipInstant,
///                            rng: inout some RandomNumberGenerator) -> [GossipDirective]
/// mutating func leave(now: GossipInstant, serfLeaveIntentLTime: UInt64? = nil,
///                     rng: inout some RandomNumberGenerator) -> [GossipDirective]
/// mutating func recordDecodeError()
/// var settings: GossipSettings; var members: [Member]; func member(named: String) -> Member?
/// var localMember: Member; var metrics: GossipMetrics; var isJoining: Bool; var hasLeft: Bool
/// var isLeaveBroadcastPending: Bool
/// static func serfLeaveIntent(node: String, lTime: UInt64) -> PacketMessage
/// ```
///
/// ## Left out of memberlist
/// Delegates (user broadcasts, user push/pull state, ping payloads, merge/alive/conflict hooks:
/// we send `UserStateLen 0` and ack `Payload nil`), `UpdateNode`, IP allow-lists, DNS and
/// `name/host:port` seeds, the handoff queue, and the CRC decision (any receiver accepts a
/// packet without one). Refutations are queued under our node name, not our IP string.
///
/// ## What it does (spec §10–§11)
/// Probe cycle over a shuffled member list; ack timeout; indirect pings through k peers with
/// nacks; TCP fallback ping in parallel; Lifeguard suspicion (confirmations shorten the timeout
/// from max to min) and awareness (local health stretches the probe interval); refutation by
/// incarnation; alive/suspect/dead precedence; `left` for a dead-from-self; reaping of dead
/// members at probe wraps; periodic push/pull anti-entropy and push/pull join; the transmit-
/// limited broadcast queue, piggy-backed on probe traffic and sent by the gossip timer; Serf's
/// reconnect to failed members, so healed partitions merge; join retried with backoff.
public struct GossipInstance: Sendable {
    public let settings: GossipSettings
    var profile: GossipProfile { settings.profile }
    var name: String { settings.name }

    var table: MemberTable
    var broadcasts = BroadcastQueue()
    var awareness: Awareness
    /// Running suspicions by node name.
    var suspicions: [String: Suspicion] = [:]
    var probe = ProbeCycle()
    /// Indirect pings we are relaying, by the sequence number of our own ping to the target.
    var relays: [UInt32: IndirectRelay] = [:]
    /// Streams we opened and are waiting on, by id.
    var streams: [UInt64: StreamPurpose] = [:]
    var joinProgress = JoinProgress()
    /// Members declared failed, in the order they failed, for Serf-style reconnects.
    var failedMembers: [Member] = []
    /// The Lamport time of the newest leave intent applied per member (operator removals).
    var leaveIntents: [String: UInt64] = [:]
    var counters = GossipMetrics()
    private var lastSequenceNumber: UInt32 = 0
    private var lastStreamID: UInt64 = 0
    private(set) var hasStarted = false
    /// Set by `leave`; from then on we never refute, and ignore alive messages about ourselves.
    public private(set) var hasLeft = false

    /// Traps if `settings.problems` is not empty (the shell validates configuration first).
    public init(settings: GossipSettings) {
        precondition(settings.problems.isEmpty, "invalid gossip settings: \(settings.problems)")
        self.settings = settings
        self.awareness = Awareness(maximumMultiplier: settings.profile.awarenessMaxMultiplier)
        // We are a member from the start (incarnation 1, memberlist's first setAlive), so
        // messages that arrive before `start` are handled normally.
        self.table = MemberTable(local: Member(
            name: settings.name, address: settings.address, meta: settings.meta, state: .alive, incarnation: 1,
            stateChangedAt: .zero, protocolVersions: settings.protocolVersions))
    }

    // MARK: - Reading

    /// Every known member, ourselves included, sorted by name.
    public var members: [Member] {
        table.membersInOrder.sorted { $0.name < $1.name }
    }

    public func member(named name: String) -> Member? {
        table[name]
    }

    /// Ourselves, with our current incarnation.
    public var localMember: Member {
        table[name]!
    }

    /// Times we refuted being declared dead; cheap, unlike `metrics`, which counts the members.
    public var deathsRefuted: UInt64 { counters.deathsRefuted }

    /// Counters, plus the member gauges computed now (a pass over every member: for scrapes).
    public var metrics: GossipMetrics {
        var snapshot = counters
        for name in table.order {
            switch table[name]!.state {
            case .alive: snapshot.membersAlive += 1
            case .suspect: snapshot.membersSuspect += 1
            case .dead: snapshot.membersDead += 1
            case .left: snapshot.membersLeft += 1
            }
        }
        snapshot.healthScore = awareness.score
        return snapshot
    }

    /// The shell could not decode a datagram or stream.
    public mutating func recordDecodeError() {
        counters.decodeErrors += 1
    }

    /// True while a join has reached no seed yet and is being retried.
    public var isJoining: Bool { joinProgress.isActive }

    /// True after `leave` while our dead-from-self is still being gossiped to live members; the
    /// shell keeps running until it turns false (or its own deadline) so peers hear we left.
    public var isLeaveBroadcastPending: Bool {
        hasLeft && broadcasts.contains(named: name)
            && table.order.contains { $0 != name && table[$0]!.state == .alive }
    }

    // MARK: - Events

    /// Starts the periodic timers (each at a random offset, so nodes started together do not
    /// probe in lockstep) and announces ourselves. Until `join`, we are a cluster of one.
    public mutating func start(now: GossipInstant, rng: inout some RandomNumberGenerator) -> [GossipDirective] {
        guard !hasStarted else { return [] }
        hasStarted = true
        var out: [GossipDirective] = []
        table.update(name) { $0.stateChangedAt = now }
        broadcasts.enqueue(.alive(localAliveMessage), name: name)
        out.append(.event(.joined(localMember)))
        out.append(.schedule(.probe, afterMilliseconds: stagger(profile.probeIntervalMilliseconds, &rng)))
        out.append(.schedule(.gossip, afterMilliseconds: stagger(profile.gossipIntervalMilliseconds, &rng)))
        out.append(.schedule(.pushPull, afterMilliseconds: stagger(profile.pushPullIntervalMilliseconds, &rng)))
        if settings.reconnectIntervalMilliseconds > 0 {
            out.append(.schedule(.reconnect, afterMilliseconds: settings.reconnectIntervalMilliseconds))
        }
        return out
    }

    /// Decoded messages of one UDP datagram from `from` (its source address).
    public mutating func receive(_ messages: [PacketMessage], from: GossipAddress, now: GossipInstant,
                                 rng: inout some RandomNumberGenerator) -> [GossipDirective] {
        counters.packetsReceived += 1
        counters.messagesReceived += UInt64(messages.count)
        var out: [GossipDirective] = []
        for message in messages {
            switch message {
            case let .ping(ping): handlePing(ping, from: from, into: &out)
            case let .indirectPing(request): handleIndirectPing(request, from: from, into: &out)
            case let .ack(ack): handleAck(ack, now: now, rng: &rng, into: &out)
            case let .nack(nack): handleNack(nack)
            case var .alive(alive):
                if alive.port == 0 { alive.port = settings.address.port } // protocol-1 legacy (spec §5)
                handleAlive(alive, now: now, rng: &rng, into: &out)
            case let .suspect(suspect): handleSuspect(suspect, now: now, into: &out)
            case let .dead(dead): handleDead(dead, now: now, into: &out)
            case let .user(payload):
                // Serf messages; memberlist hands them to its delegate and never relays them
                // (spec §13). Of Serf's, only leave intents concern membership.
                handleUser(payload, now: now, into: &out)
            }
        }
        return out
    }

    /// A timer we scheduled has fired.
    public mutating func timerFired(_ timer: GossipTimer, now: GossipInstant,
                                    rng: inout some RandomNumberGenerator) -> [GossipDirective] {
        var out: [GossipDirective] = []
        switch timer {
        case .probe: probeTick(now: now, rng: &rng, into: &out)
        case .gossip: gossipTick(now: now, rng: &rng, into: &out)
        case .pushPull: pushPullTick(now: now, rng: &rng, into: &out)
        case .reconnect: reconnectTick(now: now, rng: &rng, into: &out)
        case .joinRetry: joinRetryFired(into: &out)
        case let .probeTimeout(seq): directAckMissed(seq: seq, now: now, rng: &rng, into: &out)
        case let .indirectTimeout(seq): probeIntervalEnded(seq: seq, now: now, rng: &rng, into: &out)
        case let .relayTimeout(seq): relayTimedOut(seq: seq, into: &out)
        case let .suspicionTimeout(node, _): suspicionMayHaveExpired(node: node, now: now, into: &out)
        }
        return out
    }

    /// Leaves gracefully: gossips `dead{From: us}` (peers mark us `left`), preceded by a Serf
    /// leave intent when `serfLeaveIntentLTime` is given, so that Serf agents show "left"
    /// rather than "failed" (spec §13). The LTime must exceed any Lamport time Serf has
    /// recorded for this node's status (after a restart, a larger value than last time: a
    /// persisted counter or wall-clock seconds work). Keep running until
    /// `isLeaveBroadcastPending` is false, then stop.
    public mutating func leave(now: GossipInstant, serfLeaveIntentLTime: UInt64? = nil,
                               rng: inout some RandomNumberGenerator) -> [GossipDirective] {
        guard !hasLeft else { return [] }
        hasLeft = true
        if let lTime = serfLeaveIntentLTime {
            broadcasts.enqueue(Self.serfLeaveIntent(node: name, lTime: lTime), name: nil)
        }
        var out: [GossipDirective] = []
        let me = localMember
        handleDead(DeadMessage(incarnation: me.incarnation, node: name, from: name), now: now, into: &out)
        return out
    }

    /// The Serf leave-intent user message (`08 00 {LTime, Node, Prune: false}`).
    public static func serfLeaveIntent(node: String, lTime: UInt64) -> PacketMessage {
        SerfLeaveIntent(lTime: lTime, node: node, prune: false).packetMessage
    }

    // MARK: - Shared helpers

    /// Our alive message, as we gossip it at start and when refuting.
    var localAliveMessage: AliveMessage {
        let me = localMember
        return AliveMessage(incarnation: me.incarnation, node: name, addr: settings.address.ip,
                            port: settings.address.port, meta: settings.meta, versions: settings.protocolVersions)
    }

    mutating func nextSequenceNumber() -> UInt32 {
        lastSequenceNumber &+= 1
        return lastSequenceNumber
    }

    mutating func nextStreamID() -> UInt64 {
        lastStreamID += 1
        return lastStreamID
    }

    /// A random delay in 0..<interval, like memberlist's randomly staggered tickers.
    func stagger(_ interval: UInt64, _ rng: inout some RandomNumberGenerator) -> UInt64 {
        UInt64.random(in: 0..<max(1, interval), using: &rng)
    }
}
