@testable import EspyGossip
import EspyGossipWire
import EspyTestRandom
import XCTest


/// Peer "b" lives at slot 2, "c" at 3 …; "a" (slot 1) is the instance under test.
func slot(of name: String) -> UInt8 {
    UInt8(name.unicodeScalars.first!.value - 96)
}

func address(_ name: String) -> GossipAddress {
    GossipAddress(ip: [198, 18, 0, slot(of: name)], port: 7946)
}

func aliveMessage(_ name: String, incarnation: UInt32 = 1, meta: [UInt8]? = GossipSettings.emptySerfTags,
                  versions: ProtocolVersions? = .serfAgent, at place: GossipAddress? = nil) -> AliveMessage {
    let place = place ?? address(name)
    return AliveMessage(incarnation: incarnation, node: name, addr: place.ip, port: place.port, meta: meta, versions: versions)
}

/// Versions of a peer too old to nack (memberlist protocol 3).
let protocolThreeVersions = ProtocolVersions(protocolMin: 1, protocolMax: 3, protocolCurrent: 2,
                                             delegateMin: 2, delegateMax: 5, delegateCurrent: 5)

/// One instance under test with its own clock and generator.
struct Harness {
    var instance: GossipInstance
    var rng = SplitMix64(seed: 7)
    var now = GossipInstant.zero
    /// What `start` returned.
    var started: [GossipDirective] = []

    init(name: String = "a", profile: GossipProfile = .lan, adjust: (inout GossipSettings) -> Void = { _ in }) {
        var settings = GossipSettings(name: name, address: address(name), profile: profile)
        adjust(&settings)
        instance = GossipInstance(settings: settings)
        started = instance.start(now: now, rng: &rng)
    }

    mutating func at(_ milliseconds: UInt64) {
        now = GossipInstant(milliseconds: milliseconds)
    }

    @discardableResult
    mutating func receive(_ messages: [PacketMessage], from: GossipAddress = address("z")) -> [GossipDirective] {
        instance.receive(messages, from: from, now: now, rng: &rng)
    }

    @discardableResult
    mutating func receive(_ message: PacketMessage, from: GossipAddress = address("z")) -> [GossipDirective] {
        receive([message], from: from)
    }

    @discardableResult
    mutating func fire(_ timer: GossipTimer) -> [GossipDirective] {
        instance.timerFired(timer, now: now, rng: &rng)
    }

    @discardableResult
    mutating func streamResult(_ id: UInt64, _ result: Result<StreamMessage, GossipStreamFailure>) -> [GossipDirective] {
        instance.streamResult(id: id, result: result, now: now, rng: &rng)
    }

    mutating func streamRequest(_ message: StreamMessage, from: GossipAddress = address("z"))
        -> (reply: StreamMessage?, directives: [GossipDirective]) {
        instance.streamRequest(message, from: from, now: now, rng: &rng)
    }

    /// Makes the peers known and alive (incarnation 1), then empties the broadcast queue so
    /// that tests see only what they cause.
    mutating func addPeers(_ names: [String], versions: ProtocolVersions = .serfAgent) {
        for name in names {
            receive(.alive(aliveMessage(name, versions: versions)))
        }
        instance.broadcasts = BroadcastQueue()
    }

    /// Fires the probe timer and returns the ping it sent.
    mutating func probe() -> PingMessage {
        let directives = fire(.probe)
        guard let ping = directives.sentMessages.compactMap({ message -> PingMessage? in
            if case let .ping(ping) = message { return ping }
            return nil
        }).first else {
            XCTFail("the probe tick sent no ping: \(directives)")
            return PingMessage(seqNo: 0, node: "")
        }
        return ping
    }

    /// Every message currently in the broadcast queue.
    var queued: [PacketMessage] { instance.broadcasts.entries.map(\.message) }
}

extension Array where Element == GossipDirective {
    var sends: [(to: GossipAddress, messages: [PacketMessage])] {
        compactMap { directive in
            if case let .send(to, messages) = directive { return (to, messages) }
            return nil
        }
    }

    var sentMessages: [PacketMessage] { sends.flatMap(\.messages) }

    var scheduled: [(timer: GossipTimer, after: UInt64)] {
        compactMap { directive in
            if case let .schedule(timer, after) = directive { return (timer, after) }
            return nil
        }
    }

    func delay(of timer: GossipTimer) -> UInt64? {
        scheduled.first { $0.timer == timer }?.after
    }

    var events: [MemberEvent] {
        compactMap { directive in
            if case let .event(event) = directive { return event }
            return nil
        }
    }

    var streams: [(id: UInt64, to: GossipAddress, message: StreamMessage, timeout: UInt64)] {
        compactMap { directive in
            if case let .openStream(id, to, message, timeout) = directive { return (id, to, message, timeout) }
            return nil
        }
    }
}
