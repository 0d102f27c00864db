import EspyGossipWire

// The failure detector: the probe cycle, direct and indirect pings, the TCP fallback, and
// answering other nodes' probes (spec §11, memberlist probe/probeNode/handlePing/…).

/// Where the probe cycle stands.
struct ProbeCycle: Sendable {
    /// Next position in the member list's probe order.
    var index = 0
    /// The probe waiting for an ack; memberlist runs one probe at a time.
    var inFlight: ProbeInFlight?
    /// A probe tick came while a probe was still running. Go's ticker keeps one such tick
    /// and delivers it when the probe returns, so the next probe starts right away.
    var tickMissed = false
}

struct ProbeInFlight: Sendable {
    enum Fallback: Sendable, Equatable {
        case notTried
        case pending(streamID: UInt64)
        case answered
        case failed
    }

    let ping: PingMessage
    /// The target as it was when the probe started: a suspicion raised by this probe uses
    /// this incarnation, so a refutation that arrives meanwhile wins.
    let target: Member
    /// End of the (awareness-scaled) probe interval.
    let deadline: GossipInstant
    var indirectStarted = false
    var expectedNacks = 0
    var nacksReceived = 0
    var fallback = Fallback.notTried
    /// The interval ended while the TCP fallback was still out; the verdict waits for it.
    var awaitingFallback = false

    var seq: UInt32 { ping.seqNo }
}

/// An indirect ping we relay: our ping to the target uses our own sequence number, and its
/// ack (or the nack) goes back under the requester's.
struct IndirectRelay: Sendable {
    let requesterSeq: UInt32
    let requester: GossipAddress
    let wantsNack: Bool
}

extension GossipInstance {
    // MARK: Probing others

    mutating func probeTick(now: GossipInstant, rng: inout some RandomNumberGenerator,
                            into out: inout [GossipDirective]) {
        // A fixed-period ticker, as in memberlist: awareness stretches a running probe, not the tick.
        out.append(.schedule(.probe, afterMilliseconds: profile.probeIntervalMilliseconds))
        guard let running = probe.inFlight else {
            startNextProbe(now: now, rng: &rng, into: &out)
            return
        }
        // The shell owes us a stream result before its timeout; if it never came, stop
        // waiting so that one lost report cannot stall failure detection forever.
        if running.awaitingFallback,
           now.milliseconds(since: running.deadline) > profile.tcpTimeoutMilliseconds {
            probe.inFlight?.fallback = .failed
            concludeProbe(now: now, rng: &rng, into: &out)
            return
        }
        probe.tickMissed = true
    }

    /// Walks the probe order from where it stopped, skipping ourselves and dead or left
    /// members; at the end of the list reaps long-dead members and reshuffles.
    mutating func startNextProbe(now: GossipInstant, rng: inout some RandomNumberGenerator,
                                 into out: inout [GossipDirective]) {
        var checked = 0
        while checked < table.count {
            if probe.index >= table.count {
                let reaped = table.reapDeadAndShuffle(now: now, gossipToTheDeadMilliseconds: profile.gossipToTheDeadMilliseconds,
                                                      rng: &rng)
                for member in reaped {
                    suspicions.removeValue(forKey: member.name)
                    out.append(.event(.reaped(member)))
                }
                probe.index = 0
                checked += 1
                continue
            }
            let candidate = table[table.order[probe.index]]!
            probe.index += 1
            if candidate.name == name || candidate.state.isDeadOrLeft {
                checked += 1
                continue
            }
            probeNode(candidate, now: now, into: &out)
            return
        }
    }

    /// Pings `target` and arms the two probe timers. A suspect target also gets our suspect
    /// message in the same packet, so it can refute at once.
    mutating func probeNode(_ target: Member, now: GossipInstant, into out: inout [GossipDirective]) {
        let interval = awareness.scale(profile.probeIntervalMilliseconds)
        let ping = PingMessage(seqNo: nextSequenceNumber(), node: target.name, sourceAddr: settings.address.ip,
                               sourcePort: settings.address.port, sourceNode: name)
        if target.state == .alive {
            sendWithPiggyback(.ping(ping), to: target.address, into: &out)
        } else {
            let suspect = SuspectMessage(incarnation: target.incarnation, node: target.name, from: name)
            out.append(.send(to: target.address, messages: [.ping(ping), .suspect(suspect)]))
        }
        counters.probesSent += 1
        probe.inFlight = ProbeInFlight(ping: ping, target: target, deadline: now.advanced(byMilliseconds: interval))
        out.append(.schedule(.probeTimeout(seq: ping.seqNo), afterMilliseconds: profile.probeTimeoutMilliseconds))
        out.append(.schedule(.indirectTimeout(seq: ping.seqNo), afterMilliseconds: interval))
    }

    /// No direct ack in time: ask up to `indirectChecks` live peers to ping the target for us
    /// and, in parallel, try it over TCP (UDP may be what is broken).
    mutating func directAckMissed(seq: UInt32, now: GossipInstant, rng: inout some RandomNumberGenerator,
                                  into out: inout [GossipDirective]) {
        guard var running = probe.inFlight, running.seq == seq, !running.indirectStarted else { return }
        running.indirectStarted = true
        let target = running.target
        let relays = table.randomMembers(profile.indirectChecks, rng: &rng) {
            $0.name == name || $0.name == target.name || $0.state != .alive
        }
        for relay in relays {
            // Peers older than protocol 4 cannot nack; do not count on them.
            let wantsNack = relay.protocolVersions.protocolMax >= ProtocolVersions.minimumProtocolForNack
            if wantsNack { running.expectedNacks += 1 }
            let request = IndirectPingMessage(seqNo: seq, target: target.address.ip, port: target.address.port,
                                              node: target.name, nack: wantsNack, sourceAddr: settings.address.ip,
                                              sourcePort: settings.address.port, sourceNode: name)
            sendWithPiggyback(.indirectPing(request), to: relay.address, into: &out)
            counters.indirectProbesSent += 1
        }
        if !profile.disableTCPPings && target.protocolVersions.protocolMax >= ProtocolVersions.minimumProtocolForTCPPing {
            let id = nextStreamID()
            streams[id] = .fallbackPing(seq: seq)
            running.fallback = .pending(streamID: id)
            counters.tcpFallbackProbes += 1
            out.append(.openStream(id: id, to: target.address, message: .ping(running.ping),
                                   timeoutMilliseconds: max(1, running.deadline.milliseconds(since: now))))
        }
        probe.inFlight = running
    }

    /// The probe interval is over without an ack over UDP.
    mutating func probeIntervalEnded(seq: UInt32, now: GossipInstant, rng: inout some RandomNumberGenerator,
                                     into out: inout [GossipDirective]) {
        guard let running = probe.inFlight, running.seq == seq else { return }
        if case .pending = running.fallback {
            // memberlist waits for the fallback goroutine, whose deadline is this same instant.
            probe.inFlight?.awaitingFallback = true
            return
        }
        concludeProbe(now: now, rng: &rng, into: &out)
    }

    /// The TCP fallback ping finished.
    mutating func fallbackPingFinished(seq: UInt32, result: Result<StreamMessage, GossipStreamFailure>,
                                       now: GossipInstant, rng: inout some RandomNumberGenerator,
                                       into out: inout [GossipDirective]) {
        guard let running = probe.inFlight, running.seq == seq else { return }
        var answered = false
        if case let .success(.ack(ack)) = result { answered = ack.seqNo == seq }
        probe.inFlight?.fallback = answered ? .answered : .failed
        if running.awaitingFallback {
            concludeProbe(now: now, rng: &rng, into: &out)
        }
    }

    /// The verdict of a probe that got no UDP ack: alive if TCP got through, else suspect.
    /// Awareness rises by the nacks that did not come (the relays could not reach us either:
    /// the problem may be ours), or by one when no nacks were expected.
    mutating func concludeProbe(now: GossipInstant, rng: inout some RandomNumberGenerator,
                                into out: inout [GossipDirective]) {
        guard let finished = probe.inFlight else { return }
        probe.inFlight = nil
        if now > finished.deadline.advanced(byMilliseconds: profile.probeTimeoutMilliseconds) {
            // We are judging long after the probe ended: our own loop was held up, and the ack
            // may have come in time. A stalled node must not accuse others; it slows down instead.
            counters.probesJudgedLate += 1
            awareness.apply(1)
            return continueAfterProbe(now: now, rng: &rng, into: &out)
        }
        if finished.fallback == .answered {
            // Reachable over TCP only: memberlist warns that the network may be misconfigured.
            counters.tcpOnlyProbeSuccesses += 1
            awareness.apply(-1)
        } else {
            let missingNacks = finished.expectedNacks - min(finished.nacksReceived, finished.expectedNacks)
            awareness.apply(finished.expectedNacks > 0 ? missingNacks : 1)
            counters.probeFailures += 1
            let target = finished.target
            handleSuspect(SuspectMessage(incarnation: target.incarnation, node: target.name, from: name),
                          now: now, into: &out)
        }
        continueAfterProbe(now: now, rng: &rng, into: &out)
    }

    private mutating func continueAfterProbe(now: GossipInstant, rng: inout some RandomNumberGenerator,
                                             into out: inout [GossipDirective]) {
        if probe.tickMissed {
            probe.tickMissed = false
            startNextProbe(now: now, rng: &rng, into: &out)
        }
    }

    // MARK: Acks and nacks

    mutating func handleAck(_ ack: AckMessage, now: GossipInstant, rng: inout some RandomNumberGenerator,
                            into out: inout [GossipDirective]) {
        if let running = probe.inFlight, running.seq == ack.seqNo {
            probe.inFlight = nil
            awareness.apply(-1)
            continueAfterProbe(now: now, rng: &rng, into: &out)
        } else if let relay = relays.removeValue(forKey: ack.seqNo) {
            sendWithPiggyback(.ack(AckMessage(seqNo: relay.requesterSeq, payload: nil)), to: relay.requester, into: &out)
        }
        // Anything else is late or stray: memberlist drops acks without a handler.
    }

    mutating func handleNack(_ nack: NackMessage) {
        guard let running = probe.inFlight, running.seq == nack.seqNo else { return }
        probe.inFlight?.nacksReceived += 1
    }

    // MARK: Answering probes

    /// Acks a ping meant for us (or for anyone) at the address the pinger asked for.
    mutating func handlePing(_ ping: PingMessage, from: GossipAddress, into out: inout [GossipDirective]) {
        guard ping.node.isEmpty || ping.node == name else { return }
        let replyTo = Self.replyAddress(ip: ping.sourceAddr, port: ping.sourcePort, fallback: from)
        // Payload nil: Serf then skips its coordinate update for us, which it tolerates (spec §13).
        sendWithPiggyback(.ack(AckMessage(seqNo: ping.seqNo, payload: nil)), to: replyTo, into: &out)
    }

    /// Pings the target on the requester's behalf, with our own sequence number and address.
    mutating func handleIndirectPing(_ request: IndirectPingMessage, from: GossipAddress,
                                     into out: inout [GossipDirective]) {
        let seq = nextSequenceNumber()
        let port = request.port == 0 ? settings.address.port : request.port
        relays[seq] = IndirectRelay(requesterSeq: request.seqNo,
                                    requester: Self.replyAddress(ip: request.sourceAddr, port: request.sourcePort,
                                                                 fallback: from),
                                    wantsNack: request.nack)
        let ping = PingMessage(seqNo: seq, node: request.node, sourceAddr: settings.address.ip,
                               sourcePort: settings.address.port, sourceNode: name)
        sendWithPiggyback(.ping(ping), to: GossipAddress(ip: request.target, port: port), into: &out)
        counters.indirectPingsRelayed += 1
        out.append(.schedule(.relayTimeout(seq: seq), afterMilliseconds: profile.probeTimeoutMilliseconds))
    }

    /// The relayed target stayed silent: tell the requester, so it knows we are reachable and
    /// the silence is the target's, not its own.
    mutating func relayTimedOut(seq: UInt32, into out: inout [GossipDirective]) {
        guard let relay = relays.removeValue(forKey: seq), relay.wantsNack else { return }
        sendWithPiggyback(.nack(NackMessage(seqNo: relay.requesterSeq)), to: relay.requester, into: &out)
        counters.nacksSent += 1
    }

    /// memberlist replies to SourceAddr:SourcePort when both are set, else to the UDP source.
    static func replyAddress(ip: [UInt8], port: UInt16, fallback: GossipAddress) -> GossipAddress {
        !ip.isEmpty && port > 0 ? GossipAddress(ip: ip, port: port) : fallback
    }
}
