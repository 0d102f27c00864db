/// memberlist's timing and fan-out knobs, with the three presets Serf offers (spec §12).
///
/// Every duration is in milliseconds. The values are memberlist 0.2.2's `DefaultLANConfig`,
/// `DefaultWANConfig` and `DefaultLocalConfig`; a Swift node must use the same profile as the
/// Serf agents it joins, or its suspicion timeouts and retransmit counts disagree with theirs.
public struct GossipProfile: Equatable, Hashable, Sendable {
    /// How often the probe cycle pings the next member (ms). The failure-detection period;
    /// it is also the unit of the suspicion timeout.
    public var probeIntervalMilliseconds: UInt64
    /// How long a direct ping waits for its ack before indirect probes and the TCP fallback
    /// start (ms). Not scaled by awareness: waiting longer does not help UDP get through.
    /// Also how long an indirect-ping relay waits before answering with a nack.
    public var probeTimeoutMilliseconds: UInt64
    /// How often queued broadcasts are sent to random members (ms).
    public var gossipIntervalMilliseconds: UInt64
    /// How many random members each gossip tick sends to (count).
    public var gossipNodes: Int
    /// Base interval of the anti-entropy push/pull with one random live member (ms); scaled up
    /// for clusters over 32 members so full-state syncs do not saturate the network.
    public var pushPullIntervalMilliseconds: UInt64
    /// Suspicion timeout multiplier (dimensionless): the minimum timeout is
    /// `suspicionMultiplier × max(1, log10(n)) × probeInterval`, and `suspicionMultiplier − 2`
    /// independent confirmations are expected (Lifeguard).
    public var suspicionMultiplier: Int
    /// The suspicion timeout starts at this multiple of the minimum and shrinks towards the
    /// minimum as confirmations arrive (dimensionless).
    public var suspicionMaxTimeoutMultiplier: Int
    /// Each broadcast is transmitted `retransmitMultiplier × ceil(log10(n + 1))` times (dimensionless),
    /// enough for epidemic spread to reach everyone with high probability.
    public var retransmitMultiplier: Int
    /// Lifeguard's local-health bound (dimensionless): the health score runs from 0 to
    /// `awarenessMaxMultiplier − 1`, and a probe waits `probeInterval × (score + 1)`.
    public var awarenessMaxMultiplier: Int
    /// How many peers are asked to ping a target that missed its direct ack (count).
    public var indirectChecks: Int
    /// Dial and read deadline for TCP streams: push/pull and join (ms).
    public var tcpTimeoutMilliseconds: UInt64
    /// After this long dead, a node may come back under a new address (ms); 0 = never, Serf's
    /// choice, so an address change of a known node is a name conflict.
    public var deadNodeReclaimMilliseconds: UInt64
    /// How long dead nodes keep receiving gossip, so they can learn of and refute their death,
    /// and how long before they may be reaped from the member list (ms).
    public var gossipToTheDeadMilliseconds: UInt64
    /// memberlist `DisableTcpPings`: skip the TCP fallback ping of a target that missed its
    /// acks. False in every preset: TCP gets through when UDP is lossy or filtered.
    public var disableTCPPings: Bool
    /// The budget (bytes) for one UDP packet when piggy-backing broadcasts. Only a sending
    /// limit: receivers accept up to 64 KiB.
    public var udpBufferSize: Int

    public init(probeIntervalMilliseconds: UInt64, probeTimeoutMilliseconds: UInt64,
                gossipIntervalMilliseconds: UInt64, gossipNodes: Int, pushPullIntervalMilliseconds: UInt64,
                suspicionMultiplier: Int, suspicionMaxTimeoutMultiplier: Int, retransmitMultiplier: Int,
                awarenessMaxMultiplier: Int, indirectChecks: Int, tcpTimeoutMilliseconds: UInt64,
                deadNodeReclaimMilliseconds: UInt64, gossipToTheDeadMilliseconds: UInt64,
                disableTCPPings: Bool = false, udpBufferSize: Int = 1400) {
        self.probeIntervalMilliseconds = probeIntervalMilliseconds
        self.probeTimeoutMilliseconds = probeTimeoutMilliseconds
        self.gossipIntervalMilliseconds = gossipIntervalMilliseconds
        self.gossipNodes = gossipNodes
        self.pushPullIntervalMilliseconds = pushPullIntervalMilliseconds
        self.suspicionMultiplier = suspicionMultiplier
        self.suspicionMaxTimeoutMultiplier = suspicionMaxTimeoutMultiplier
        self.retransmitMultiplier = retransmitMultiplier
        self.awarenessMaxMultiplier = awarenessMaxMultiplier
        self.indirectChecks = indirectChecks
        self.tcpTimeoutMilliseconds = tcpTimeoutMilliseconds
        self.deadNodeReclaimMilliseconds = deadNodeReclaimMilliseconds
        self.gossipToTheDeadMilliseconds = gossipToTheDeadMilliseconds
        self.disableTCPPings = disableTCPPings
        self.udpBufferSize = udpBufferSize
    }

    /// The Serf agent's default, so a node joins agents started without `-profile`.
    public static let `default` = lan

    /// memberlist `DefaultLANConfig`, the Serf agent's default.
    public static let lan = GossipProfile(
        probeIntervalMilliseconds: 1_000, probeTimeoutMilliseconds: 500,
        gossipIntervalMilliseconds: 200, gossipNodes: 3, pushPullIntervalMilliseconds: 30_000,
        suspicionMultiplier: 4, suspicionMaxTimeoutMultiplier: 6, retransmitMultiplier: 4,
        awarenessMaxMultiplier: 8, indirectChecks: 3, tcpTimeoutMilliseconds: 10_000,
        deadNodeReclaimMilliseconds: 0, gossipToTheDeadMilliseconds: 30_000)

    /// memberlist `DefaultWANConfig` (`serf agent -profile=wan`): slower, more tolerant of latency.
    public static let wan = GossipProfile(
        probeIntervalMilliseconds: 5_000, probeTimeoutMilliseconds: 3_000,
        gossipIntervalMilliseconds: 500, gossipNodes: 4, pushPullIntervalMilliseconds: 60_000,
        suspicionMultiplier: 6, suspicionMaxTimeoutMultiplier: 6, retransmitMultiplier: 4,
        awarenessMaxMultiplier: 8, indirectChecks: 3, tcpTimeoutMilliseconds: 30_000,
        deadNodeReclaimMilliseconds: 0, gossipToTheDeadMilliseconds: 60_000)

    /// memberlist `DefaultLocalConfig` (`serf agent -profile=local`): loopback or one host.
    public static let local = GossipProfile(
        probeIntervalMilliseconds: 1_000, probeTimeoutMilliseconds: 200,
        gossipIntervalMilliseconds: 100, gossipNodes: 3, pushPullIntervalMilliseconds: 15_000,
        suspicionMultiplier: 3, suspicionMaxTimeoutMultiplier: 6, retransmitMultiplier: 2,
        awarenessMaxMultiplier: 8, indirectChecks: 1, tcpTimeoutMilliseconds: 1_000,
        deadNodeReclaimMilliseconds: 0, gossipToTheDeadMilliseconds: 15_000)
}
