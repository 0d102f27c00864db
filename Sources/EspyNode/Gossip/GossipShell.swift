import EspyCluster
import EspyCore
import EspyGossip
import EspyGossipCluster
import EspyGossipWire
import EspyLoop
import Logging

/// Runs the gossip core on the node's loop: feeds it packets, streams and timer firings, and
/// carries out what it returns. All protocol decisions are the core's; this only does I/O.
final class GossipShell {
    private let loop: EventLoop
    private let logger: Logger
    private let keyring: Keyring?
    private var core: GossipInstance
    private var rng = SystemRandomNumberGenerator()
    private var transport: GossipTransport?
    private var reports = MemberReports()
    private(set) var packetsSent: UInt64 = 0
    private var onLeft: (() -> Void)?
    /// Ends a leave once the cluster has heard it; closed with the shell, since it refers to it.
    private var leavePoll: Timer?
    /// Members' news heard together (one packet or stream), once the core's view reflects it;
    /// also an operator's removal (here or anywhere in the cluster).
    var onMemberChanges: (([ClusterMembership.Change]) -> Void)?
    /// Gossip declared this node dead and it refuted: peers may have written around it (a
    /// suspected node is still written to, so refuting a suspicion is not enough).
    var onDeathRefuted: (() -> Void)?
    private var deathsRefutedSeen: UInt64 = 0
    /// When an undecodable packet was last logged: once a minute says a key mismatch without
    /// flooding the log at the peers' packet rate.
    private var undecodableLoggedAt: UInt64?
    /// Timers the core scheduled that have not fired; closed with the shell so none keeps the
    /// loop alive after a leave.
    private var pendingTimers: [ObjectIdentifier: Timer] = [:]

    /// Binds the gossip sockets on `bind`; `settings(boundAddress)` gives the core's settings
    /// once the real port is known (port 0 binds an ephemeral one).
    init(loop: EventLoop, logger: Logger, bind: SocketAddress, keyring: Keyring?,
         settings makeSettings: (SocketAddress) throws -> GossipSettings) throws {
        self.loop = loop
        self.logger = logger
        self.keyring = keyring
        let transport = try GossipTransport(loop: loop, address: bind, keyring: keyring)
        do {
            var settings = try makeSettings(transport.localAddress)
            if keyring != nil { settings.encryptionOverheadBytes = GossipShell.encryptionOverheadBytes }
            if let problem = settings.problems.first { throw GossipTransportError("gossip settings: \(problem)") }
            core = GossipInstance(settings: settings)
        } catch {
            transport.close()
            throw error
        }
        self.transport = transport
        transport.onPacket = { [unowned self] bytes, from in self.receivePacket(bytes, from: from) }
        transport.onStream = { [unowned self] message, from, reply in self.receiveStream(message, from: from, reply: reply) }
    }

    /// Version byte, 12-byte nonce and 16-byte tag around every encrypted packet (spec §7).
    static let encryptionOverheadBytes = 1 + 12 + 16

    var now: GossipInstant { GossipInstant(milliseconds: loop.nowMilliseconds) }
    var localAddress: SocketAddress? { transport?.localAddress }
    var metrics: GossipMetrics { core.metrics }
    /// Every member as gossip last reported it, kept up to date event by event.
    var members: [String: EspyCluster.Member] { reports.members }

    func start(seeds: [SocketAddress]) {
        run(core.start(now: now, rng: &rng))
        join(seeds)
    }

    /// Asks `seeds` for their member lists (push/pull), as a start with seeds does.
    func join(_ seeds: [SocketAddress]) {
        let addresses = seeds.compactMap { try? GossipAddress($0) }
        if transport != nil, !addresses.isEmpty { run(core.join(seeds: addresses, now: now, rng: &rng)) }
    }

    /// Leaves gracefully: a Serf leave intent, then dead-from-self, gossiped until live members
    /// have it (or `deadlineMilliseconds` pass); then the sockets close and `completion` runs.
    /// Leaving twice (a leave, then the shutdown that ends it) waits for the one leave.
    func leave(deadlineMilliseconds: UInt64 = 3_000, completion: @escaping () -> Void) {
        guard transport != nil else { return completion() }
        if let previous = onLeft {
            onLeft = { previous(); completion() }
            return
        }
        // Serf ignores a leave intent not newer than what it recorded; wall-clock seconds grow
        // across restarts, which a counter kept in memory would not.
        let lTime = UInt64(max(1, Timestamp.now().microseconds / Timestamp.microsecondsPerSecond))
        run(core.leave(now: now, serfLeaveIntentLTime: lTime, rng: &rng))
        onLeft = completion
        let startedAt = loop.nowMilliseconds
        let poll = Timer(loop: loop)
        leavePoll = poll
        poll.start(after: 100, repeat: 100) { [unowned self] in
            guard !core.isLeaveBroadcastPending || loop.nowMilliseconds - startedAt >= deadlineMilliseconds else { return }
            close()
        }
    }

    /// Removes a failed member cluster-wide (Serf's force-leave); refused for a live one.
    func forceLeave(_ node: String) -> Bool {
        guard transport != nil, node != core.localMember.name, core.member(named: node)?.state != .alive else { return false }
        let lTime = UInt64(max(1, Timestamp.now().microseconds / Timestamp.microsecondsPerSecond))
        run(core.forceLeave(node: node, lTime: lTime, now: now))
        return true
    }

    func close() {
        transport?.close()
        transport = nil
        leavePoll?.close()
        leavePoll = nil
        for timer in pendingTimers.values { timer.close() }
        pendingTimers = [:]
        let onLeft = self.onLeft
        self.onLeft = nil
        onLeft?()
    }

    // MARK: Events in

    private func receivePacket(_ bytes: [UInt8], from: SocketAddress) {
        guard transport != nil, let source = try? GossipAddress(from) else { return }
        let decoded: DecodedPacket
        do { decoded = try GossipPacket.decode(bytes, keyring: keyring) } catch {
            core.recordDecodeError()
            let now = loop.nowMilliseconds
            if undecodableLoggedAt.map({ now - $0 >= 60_000 }) ?? true {
                undecodableLoggedAt = now
                logger.warning("a gossip packet could not be decoded: a peer with other [gossip] encrypt_keys (or none), or foreign traffic; said at most once a minute, espymetrics_gossip_decode_errors_total counts them",
                               metadata: ["gossip/from": "\(from)", "gossip/error": "\(error)", "gossip/encrypted": "\(keyring != nil)"])
            }
            return
        }
        if !decoded.problems.isEmpty { core.recordDecodeError() }
        run(core.receive(decoded.messages, from: source, now: now, rng: &rng))
    }

    private func receiveStream(_ message: StreamMessage, from: SocketAddress, reply: @escaping (StreamMessage?) -> Void) {
        guard let source = try? GossipAddress(from) else { return reply(nil) }
        let (answer, directives) = core.streamRequest(message, from: source, now: now, rng: &rng)
        reply(answer)
        run(directives)
    }

    // MARK: Directives out

    private func run(_ directives: [GossipDirective]) {
        var changes: [ClusterMembership.Change] = []
        for directive in directives {
            switch directive {
            case let .send(to, messages):
                send(messages, to: to)
            case let .openStream(id, to, message, timeout):
                openStream(id: id, to: to, message: message, timeoutMilliseconds: timeout)
            case let .schedule(timer, after):
                schedule(timer, afterMilliseconds: after)
            case let .event(event):
                log(event)
                changes.append(reports.change(for: event, now: Timestamp.now()))
            case let .removed(node):
                logger.info("member removed by an operator", metadata: ["gossip/member": "\(node)"])
                changes.append(.removedByOperator(MemberName(node)))
            }
        }
        if !changes.isEmpty { onMemberChanges?(changes) }
        if core.deathsRefuted != deathsRefutedSeen {
            deathsRefutedSeen = core.deathsRefuted
            onDeathRefuted?()
        }
    }

    private func send(_ messages: [PacketMessage], to: GossipAddress) {
        guard let transport, let address = to.socketAddress else { return }
        do {
            // No CRC header: it is optional, and only safe for peers known to speak protocol 5.
            let bytes = try GossipPacket.encode(messages, options: PacketOptions(compress: true, addChecksum: false, keyring: keyring))
            transport.sendPacket(bytes, to: address)
            packetsSent += 1
        } catch {
            logger.error("cannot encode gossip packet", metadata: ["gossip/to": "\(to)", "gossip/error": "\(error)"])
        }
    }

    private func openStream(id: UInt64, to: GossipAddress, message: StreamMessage, timeoutMilliseconds: UInt64) {
        guard let transport, let address = to.socketAddress else {
            return run(core.streamResult(id: id, result: .failure(.connectFailed("no transport")), now: now, rng: &rng))
        }
        transport.exchange(message, with: address, timeoutMilliseconds: timeoutMilliseconds) { [weak self] result in
            guard let self else { return }
            let outcome = result.mapError { GossipStreamFailure.closedWithoutReply($0.description) }
            self.run(self.core.streamResult(id: id, result: outcome, now: self.now, rng: &self.rng))
        }
    }

    private func schedule(_ gossipTimer: GossipTimer, afterMilliseconds: UInt64) {
        guard transport != nil else { return }
        let timer = Timer(loop: loop)
        let key = ObjectIdentifier(timer)
        pendingTimers[key] = timer
        timer.start(after: afterMilliseconds) { [weak self] in
            timer.close()
            self?.pendingTimers[key] = nil
            guard let self, self.transport != nil else { return }
            // An ack or refutation that arrived while the loop was busy must count before the
            // timeout it answers: a slow node must not suspect others for its own slowness.
            switch gossipTimer {
            case .probeTimeout, .indirectTimeout, .relayTimeout, .suspicionTimeout: self.transport?.deliverWaitingPackets()
            default: break
            }
            guard self.transport != nil else { return }
            self.run(self.core.timerFired(gossipTimer, now: self.now, rng: &self.rng))
        }
    }

    private func log(_ event: MemberEvent) {
        let member = event.member
        let metadata: Logger.Metadata = ["gossip/member": "\(member.name)", "gossip/address": "\(member.address)",
                                         "gossip/incarnation": "\(member.incarnation)"]
        switch event {
        case .joined: logger.info("member joined", metadata: metadata)
        case .updated: logger.info("member updated", metadata: metadata)
        case .suspected: logger.info("member suspected", metadata: metadata)
        case .recovered: logger.info("member recovered", metadata: metadata)
        case .failed: logger.warning("member failed", metadata: metadata)
        case .left: logger.info("member left", metadata: metadata)
        case .reaped: logger.info("member reaped", metadata: metadata)
        }
    }
}
