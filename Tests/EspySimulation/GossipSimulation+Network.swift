import EspyGossip
import EspyGossipWire

/// A UDP packet in flight: message values, or real bytes when the codec is exercised.
enum PacketPayload {
    case messages([PacketMessage])
    case bytes([UInt8])
}

/// One TCP exchange in flight towards its responder.
struct StreamExchange {
    let initiator: Int
    let initiatorEpoch: Int
    let responder: Int
    let id: UInt64
    let request: StreamMessage
    /// Latency of the reply leg (ms), drawn when the stream opened.
    let replyLatency: UInt64
    /// The initiator's deadline (absolute ms).
    let deadline: UInt64
}

extension GossipSimulation {
    // MARK: UDP

    func sendPacket(from node: Int, to address: GossipAddress, messages: [PacketMessage]) {
        statistics.packetsSent += 1
        statistics.messagesSent += messages.count
        guard let target = indexByAddress[address] else { return }
        guard canReach(node, target) else {
            statistics.packetsCutByPartition += 1
            return
        }
        if networkRandom.chance(udpLossRate) {
            statistics.packetsLost += 1
            return
        }
        let payload: PacketPayload
        switch codec {
        case .none:
            payload = .messages(messages)
        case .plain, .compressedWithChecksum:
            let options = PacketOptions(compress: codec == .compressedWithChecksum,
                                        addChecksum: codec == .compressedWithChecksum)
            guard let bytes = try? GossipPacket.encode(messages, options: options) else {
                statistics.decodeErrors += 1
                return
            }
            statistics.bytesSent += bytes.count
            payload = .bytes(bytes)
        }
        queue.push(.packet(to: target, from: node, payload), at: now.milliseconds + latency(from: node, to: target))
    }

    func deliverPacket(to node: Int, from sender: Int, payload: PacketPayload) {
        guard instances[node] != nil else {
            statistics.packetsToStoppedNodes += 1
            return
        }
        // A partition that began while the packet was in flight drops it too.
        guard canReach(node, sender) else {
            statistics.packetsCutByPartition += 1
            return
        }
        let messages: [PacketMessage]
        trace.mix(now.milliseconds)
        trace.mix(node)
        trace.mix(sender)
        switch payload {
        case let .messages(values):
            messages = values
            for message in values { mixSummary(of: message) }
        case let .bytes(bytes):
            trace.mix(bytes)
            guard let decoded = try? GossipPacket.decode(bytes, keyring: nil), decoded.problems.isEmpty else {
                statistics.decodeErrors += 1
                instances[node]!.recordDecodeError()
                return
            }
            messages = decoded.messages
        }
        statistics.packetsDelivered += 1
        let directives = instances[node]!.receive(messages, from: addresses[sender], now: now, rng: &generators[node])
        execute(directives, for: node)
    }

    /// Enough of a message to tell runs apart, without encoding it.
    private func mixSummary(of message: PacketMessage) {
        trace.mix(message.messageType.rawValue)
        switch message {
        case let .ping(ping): trace.mix(UInt64(ping.seqNo)); trace.mix(ping.node)
        case let .indirectPing(request): trace.mix(UInt64(request.seqNo)); trace.mix(request.node)
        case let .ack(ack): trace.mix(UInt64(ack.seqNo))
        case let .nack(nack): trace.mix(UInt64(nack.seqNo))
        case let .alive(alive): trace.mix(alive.node); trace.mix(UInt64(alive.incarnation))
        case let .suspect(suspect): trace.mix(suspect.node); trace.mix(UInt64(suspect.incarnation)); trace.mix(suspect.from)
        case let .dead(dead): trace.mix(dead.node); trace.mix(UInt64(dead.incarnation)); trace.mix(dead.from)
        case let .user(payload): trace.mix(payload)
        }
    }

    // MARK: TCP

    func openStream(from node: Int, id: UInt64, to address: GossipAddress, message: StreamMessage,
                    timeoutMilliseconds: UInt64) {
        statistics.streamsOpened += 1
        let deadline = now.milliseconds + timeoutMilliseconds
        guard let target = indexByAddress[address] else {
            finishStream(node, id: id, .failure(.connectFailed("no such host")), at: now.milliseconds + 1)
            return
        }
        guard canReach(node, target) else {
            finishStream(node, id: id, .failure(.timedOut("partitioned")), at: deadline)
            return
        }
        let outbound = latency(from: node, to: target)
        let inbound = latency(from: target, to: node)
        guard instances[target] != nil else {
            // A stopped node's kernel answers the SYN with a reset.
            finishStream(node, id: id, .failure(.connectFailed("connection refused")), at: now.milliseconds + outbound + inbound)
            return
        }
        guard outbound < timeoutMilliseconds, let request = roundTrip(message) else {
            finishStream(node, id: id, .failure(.timedOut()), at: deadline)
            return
        }
        queue.push(.streamArrival(StreamExchange(initiator: node, initiatorEpoch: epochs[node], responder: target, id: id,
                                                 request: request, replyLatency: inbound, deadline: deadline)),
                   at: now.milliseconds + outbound)
    }

    func serveStream(_ exchange: StreamExchange) {
        let responder = exchange.responder
        guard instances[responder] != nil else {
            finishStream(exchange.initiator, epoch: exchange.initiatorEpoch, id: exchange.id,
                         .failure(.connectFailed("connection reset")), at: now.milliseconds + exchange.replyLatency)
            return
        }
        guard canReach(responder, exchange.initiator) else {
            finishStream(exchange.initiator, epoch: exchange.initiatorEpoch, id: exchange.id,
                         .failure(.timedOut("partitioned")), at: exchange.deadline)
            return
        }
        let (reply, directives) = instances[responder]!.streamRequest(
            exchange.request, from: addresses[exchange.initiator], now: now, rng: &generators[responder])
        execute(directives, for: responder)
        var result: Result<StreamMessage, GossipStreamFailure> = .failure(.closedWithoutReply())
        if let reply {
            result = roundTrip(reply).map { .success($0) } ?? .failure(.undecodableReply())
        }
        let arrival = now.milliseconds + exchange.replyLatency
        if arrival > exchange.deadline {
            finishStream(exchange.initiator, epoch: exchange.initiatorEpoch, id: exchange.id, .failure(.timedOut()),
                         at: exchange.deadline)
        } else {
            finishStream(exchange.initiator, epoch: exchange.initiatorEpoch, id: exchange.id, result, at: arrival)
        }
    }

    private func finishStream(_ node: Int, epoch: Int? = nil, id: UInt64,
                              _ result: Result<StreamMessage, GossipStreamFailure>, at time: UInt64) {
        if case .failure = result { statistics.streamsFailed += 1 }
        queue.push(.streamResult(node: node, epoch: epoch ?? epochs[node], id: id, result), at: max(time, now.milliseconds))
    }

    /// The message as the other end would decode it, through the real stream framing when
    /// the codec is exercised; nil (and a counted error) if it does not survive.
    private func roundTrip(_ message: StreamMessage) -> StreamMessage? {
        guard codec != .none else { return message }
        let options = StreamOptions(compress: codec == .compressedWithChecksum)
        guard let bytes = try? StreamFraming.encode(message, options: options),
              case let .complete(decoded, consumed)? = try? StreamFraming.decode(bytes, keyring: nil),
              consumed == bytes.count else {
            statistics.decodeErrors += 1
            return nil
        }
        statistics.bytesSent += bytes.count
        return decoded
    }
}
