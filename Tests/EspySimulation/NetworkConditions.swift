/// How the simulated network treats traffic: one-way latency by locality, UDP loss, and
/// partitions. TCP streams are never lost (TCP retransmits) but are cut by partitions and
/// refused by dead nodes.
public struct NetworkConditions: Sendable {
    /// One-way latency between nodes of the same datacenter (ms, uniform in the range).
    public var intraDatacenterLatencyMilliseconds: ClosedRange<UInt64>
    /// One-way latency across datacenters (ms, uniform in the range).
    public var interDatacenterLatencyMilliseconds: ClosedRange<UInt64>
    /// Probability that any one UDP packet is dropped.
    public var udpLossRate: Double

    public init(intraDatacenterLatencyMilliseconds: ClosedRange<UInt64> = 1...3,
                interDatacenterLatencyMilliseconds: ClosedRange<UInt64> = 20...40,
                udpLossRate: Double = 0) {
        self.intraDatacenterLatencyMilliseconds = intraDatacenterLatencyMilliseconds
        self.interDatacenterLatencyMilliseconds = interDatacenterLatencyMilliseconds
        self.udpLossRate = udpLossRate
    }
}

/// Whether UDP packets and streams go through the real wire codec on their way.
public enum CodecRoundTrip: Sendable {
    /// Hand message values across untouched (fastest).
    case none
    /// `GossipPacket.encode`/`decode` and `StreamFraming.encode`/`decode`, no compression.
    case plain
    /// The same with LZW compression and, on packets, the CRC wrapper, as a Serf agent sends.
    case compressedWithChecksum
}
