import EspyGossipWire

// The membership state machine: alive, suspect and dead claims, their precedence by
// incarnation, refutation, and Lifeguard suspicion timeouts (spec §11, memberlist
// aliveNode/suspectNode/deadNode/refute). Gossip and push/pull both end up here.

extension GossipInstance {
    // MARK: alive

    mutating func handleAlive(_ alive: AliveMessage, now: GossipInstant, rng: inout some RandomNumberGenerator,
                              into out: inout [GossipDirective]) {
        let isLocal = alive.node == name
        // A leaving node must not be talked back into the cluster by an alive still in flight.
        if hasLeft && isLocal { return }
        if let versions = alive.versions,
           versions.protocolMin == 0 || versions.protocolMax == 0 || versions.protocolMin > versions.protocolMax {
            return
        }
        let address = GossipAddress(ip: alive.addr, port: alive.port)
        var replacesAddress = false
        if let known = table[alive.node] {
            if known.address != address {
                // Only a left node, or one dead past the reclaim time, may come back elsewhere;
                // anything else is two nodes claiming one name.
                let reclaimable = profile.deadNodeReclaimMilliseconds > 0 && known.state == .dead
                    && now.milliseconds(since: known.stateChangedAt) > profile.deadNodeReclaimMilliseconds
                guard known.state == .left || reclaimable else {
                    counters.addressConflicts += 1
                    return
                }
                replacesAddress = true
            }
        } else {
            // New members enter as dead so that becoming alive below reads as a join.
            table.insert(Member(name: alive.node, address: address, meta: alive.meta, state: .dead, incarnation: 0,
                                stateChangedAt: now, protocolVersions: alive.versions ?? Member.unknownVersions),
                         rng: &rng)
        }
        let known = table[alive.node]!
        if !isLocal && !replacesAddress && alive.incarnation <= known.incarnation { return }
        if isLocal && alive.incarnation < known.incarnation { return }

        suspicions.removeValue(forKey: alive.node)
        if isLocal {
            // Someone announces us with our incarnation but other meta or versions (we restarted
            // with new settings, say), or with a higher one: out-bid it.
            if alive.incarnation == known.incarnation && (alive.meta ?? []) == (known.meta ?? [])
                && alive.versions == known.protocolVersions {
                return
            }
            refute(accusedIncarnation: alive.incarnation)
            return
        }

        broadcast(.alive(alive), about: alive.node)
        table.update(alive.node) { member in
            if let versions = alive.versions { member.protocolVersions = versions }
            member.incarnation = alive.incarnation
            member.meta = alive.meta
            member.address = address
            if member.state != .alive {
                member.state = .alive
                member.stateChangedAt = now
            }
        }
        let updated = table[alive.node]!
        if known.state.isDeadOrLeft {
            failedMembers.removeAll { $0.name == alive.node }
            out.append(.event(.joined(updated)))
        } else if (known.meta ?? []) != (updated.meta ?? []) {
            out.append(.event(.updated(updated)))
        } else if known.state == .suspect {
            out.append(.event(.recovered(updated)))
        }
    }

    // MARK: suspect

    mutating func handleSuspect(_ suspect: SuspectMessage, now: GossipInstant, into out: inout [GossipDirective]) {
        guard let known = table[suspect.node], suspect.incarnation >= known.incarnation else { return }
        if var suspicion = suspicions[suspect.node] {
            // Another accuser of a node we already suspect: a Lifeguard confirmation. Pass it on
            // only if it was new to us, so independent confirmations spread without echoing.
            if suspicion.confirm(from: suspect.from) {
                suspicions[suspect.node] = suspicion
                broadcast(.suspect(suspect), about: suspect.node)
                out.append(.schedule(.suspicionTimeout(node: suspect.node, incarnation: known.incarnation),
                                     afterMilliseconds: suspicion.deadline.milliseconds(since: now)))
            }
            return
        }
        guard known.state == .alive else { return }
        if suspect.node == name {
            refute(accusedIncarnation: suspect.incarnation)
            return
        }
        broadcast(.suspect(suspect), about: suspect.node)
        table.update(suspect.node) { member in
            member.incarnation = suspect.incarnation
            member.state = .suspect
            member.stateChangedAt = now
        }
        counters.suspicionsRaised += 1
        let nodeCount = table.count
        let minimum = Suspicion.minimumTimeoutMilliseconds(
            suspicionMultiplier: profile.suspicionMultiplier, nodeCount: nodeCount,
            probeIntervalMilliseconds: profile.probeIntervalMilliseconds)
        let suspicion = Suspicion(
            from: suspect.from,
            expectedConfirmations: Suspicion.expectedConfirmations(suspicionMultiplier: profile.suspicionMultiplier,
                                                                   nodeCount: nodeCount),
            minimumMilliseconds: minimum,
            maximumMilliseconds: UInt64(profile.suspicionMaxTimeoutMultiplier) * minimum, now: now)
        suspicions[suspect.node] = suspicion
        out.append(.schedule(.suspicionTimeout(node: suspect.node, incarnation: suspect.incarnation),
                             afterMilliseconds: suspicion.deadline.milliseconds(since: now)))
        out.append(.event(.suspected(table[suspect.node]!)))
    }

    /// A suspicion timer fired. Stale firings (the suspicion was refuted, replaced or moved
    /// earlier and already handled) find no suspicion or a later deadline, and do nothing.
    mutating func suspicionMayHaveExpired(node: String, now: GossipInstant, into out: inout [GossipDirective]) {
        guard let suspicion = suspicions[node], suspicion.deadline <= now,
              let member = table[node], member.state == .suspect else { return }
        counters.suspicionTimeouts += 1
        handleDead(DeadMessage(incarnation: member.incarnation, node: node, from: name), now: now, into: &out)
    }

    // MARK: dead

    mutating func handleDead(_ dead: DeadMessage, now: GossipInstant, into out: inout [GossipDirective]) {
        guard let known = table[dead.node], dead.incarnation >= known.incarnation else { return }
        suspicions.removeValue(forKey: dead.node)
        if known.state.isDeadOrLeft { return }
        if dead.node == name && !hasLeft {
            counters.deathsRefuted += 1
            refute(accusedIncarnation: dead.incarnation)
            return
        }
        broadcast(.dead(dead), about: dead.node)
        table.update(dead.node) { member in
            member.incarnation = dead.incarnation
            member.state = dead.isLeave ? .left : .dead
            member.stateChangedAt = now
        }
        let updated = table[dead.node]!
        if dead.isLeave {
            failedMembers.removeAll { $0.name == dead.node }
            out.append(.event(.left(updated)))
        } else {
            failedMembers.removeAll { $0.name == dead.node }
            failedMembers.append(updated)
            out.append(.event(.failed(updated)))
        }
    }

    // MARK: refute

    /// Out-bids an accusation against us: an incarnation above both ours and the accused one,
    /// gossiped in an alive message. Having to refute is a sign we may be the slow one, so
    /// our health score rises.
    mutating func refute(accusedIncarnation: UInt32) {
        var incarnation = localMember.incarnation &+ 1
        if accusedIncarnation >= incarnation { incarnation = accusedIncarnation &+ 1 }
        table.update(name) { $0.incarnation = incarnation }
        awareness.apply(1)
        counters.refutations += 1
        broadcast(.alive(localAliveMessage), about: name)
    }
}
