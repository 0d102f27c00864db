/// Plain counters and gauges of one instance, for the node to export. Counters only grow.
public struct GossipMetrics: Equatable, Sendable {
    /// Gauges: members in each state, ourselves included, as of reading.
    public var membersAlive = 0
    public var membersSuspect = 0
    public var membersDead = 0
    public var membersLeft = 0
    /// Gauge: Lifeguard local health, 0 (healthy) … awarenessMaxMultiplier − 1.
    public var healthScore = 0

    /// Direct pings sent by our probe cycle.
    public var probesSent: UInt64 = 0
    /// Probes that ended without any ack (each leads to a suspicion of the target).
    public var probeFailures: UInt64 = 0
    /// Indirect ping requests we sent to relays.
    public var indirectProbesSent: UInt64 = 0
    /// TCP fallback pings we started.
    public var tcpFallbackProbes: UInt64 = 0
    /// Probes answered only over TCP: UDP to that node is probably broken.
    public var tcpOnlyProbeSuccesses: UInt64 = 0
    /// Indirect pings we relayed for others.
    public var indirectPingsRelayed: UInt64 = 0
    /// Nacks we sent as a relay.
    public var nacksSent: UInt64 = 0
    /// Members that went alive → suspect in our table, whoever accused them.
    public var suspicionsRaised: UInt64 = 0
    /// Probes left without a verdict because we reached it far past the probe's end (our own
    /// loop was held up); each raises our health score instead of suspecting the target.
    public var probesJudgedLate: UInt64 = 0
    /// Members we declared dead because our own suspicion timer ran out.
    public var suspicionTimeouts: UInt64 = 0
    /// Times we raised our incarnation to refute an accusation.
    public var refutations: UInt64 = 0
    /// Of those, accusations that we had died: peers may have stopped writing to us meanwhile.
    public var deathsRefuted: UInt64 = 0
    /// Alive messages rejected because a known node's address changed (name conflicts).
    public var addressConflicts: UInt64 = 0
    /// UDP packets and the messages in them handed to `receive`.
    public var packetsReceived: UInt64 = 0
    public var messagesReceived: UInt64 = 0
    /// Bumped by the shell (`recordDecodeError`) for datagrams or streams it could not decode.
    public var decodeErrors: UInt64 = 0
    /// Push/pull exchanges we started (anti-entropy, join and reconnect alike) and how many failed
    /// (no reply, error reply, or incompatible protocol versions).
    public var pushPullsStarted: UInt64 = 0
    public var pushPullFailures: UInt64 = 0
    /// Push/pulls whose node list failed the protocol-version check and was not merged.
    public var incompatibleStates: UInt64 = 0
    /// Serf-style reconnect attempts to failed members.
    public var reconnectAttempts: UInt64 = 0

    public init() {}
}
