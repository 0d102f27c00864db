import EspyGossipWire

/// Everything a `GossipInstance` needs to know about itself; fixed for the instance's life.
public struct GossipSettings: Sendable {
    /// This node's name: unique in the cluster, sent in every ping, alive and push/pull.
    public var name: String
    /// The address peers reach us on (memberlist's advertise address); put in alive messages
    /// and as the reply address of our pings.
    public var address: GossipAddress
    /// Node meta, at most 512 bytes (`WireLimits.maximumMetaSize`). For Serf, tags built with
    /// `SerfTags.encode`; the default `ff 80` is "no tags" (nil would show as `role=` in Serf).
    public var meta: [UInt8]?
    /// The Vsn bytes we advertise. Serf's `01 05 02 02 05 05`: anything narrower makes
    /// Serf's verifyProtocol reject push/pulls (spec §6).
    public var protocolVersions: ProtocolVersions
    /// Timings and fan-out; must match the Serf agents' profile.
    public var profile: GossipProfile
    /// Bytes the shell's encryption adds to each UDP packet (bytes), subtracted from the
    /// piggy-back budget: 0 without a keyring, `EncryptionVersion.unpadded.maximumOverhead`
    /// (29) with one.
    public var encryptionOverheadBytes: Int
    /// First delay before retrying a join that reached no seed (ms). Not memberlist (its Join
    /// is one-shot) but Serf's retry-join, with backoff instead of its fixed interval.
    public var joinRetryInitialMilliseconds: UInt64
    /// The join retry delay doubles up to this (ms), so a node started before its seeds
    /// keeps trying without flooding them.
    public var joinRetryMaximumMilliseconds: UInt64
    /// Serf's `ReconnectInterval` (ms): how often we try a push/pull join with a random failed
    /// member. memberlist alone only syncs with live members, so without this a healed network
    /// partition never merges. 0 disables.
    public var reconnectIntervalMilliseconds: UInt64
    /// Serf's `ReconnectTimeout` (ms): failed members are retried for this long, then forgotten.
    public var reconnectTimeoutMilliseconds: UInt64

    /// `ff 80`: Serf meta with an empty tag map.
    public static let emptySerfTags: [UInt8] = [SerfTags.magicByte, 0x80]

    public init(name: String, address: GossipAddress, meta: [UInt8]? = GossipSettings.emptySerfTags,
                protocolVersions: ProtocolVersions = .serfAgent, profile: GossipProfile = .default) {
        self.name = name
        self.address = address
        self.meta = meta
        self.protocolVersions = protocolVersions
        self.profile = profile
        self.encryptionOverheadBytes = 0
        self.joinRetryInitialMilliseconds = 1_000
        self.joinRetryMaximumMilliseconds = 30_000
        self.reconnectIntervalMilliseconds = 30_000
        self.reconnectTimeoutMilliseconds = 24 * 3_600_000
    }

    /// What is wrong with these settings, empty if nothing. The shell checks this once at
    /// startup; `GossipInstance.init` traps on settings that fail it.
    public var problems: [String] {
        var found: [String] = []
        if name.isEmpty { found.append("node name is empty") }
        if address.ip.count != 4 && address.ip.count != 16 { found.append("address must be 4 or 16 IP bytes") }
        if let meta, meta.count > WireLimits.maximumMetaSize {
            found.append("meta is \(meta.count) bytes; memberlist allows \(WireLimits.maximumMetaSize)")
        }
        let versions = protocolVersions
        if versions.protocolMin == 0 || versions.protocolMin > versions.protocolMax {
            found.append("protocol versions \(versions.bytes) are invalid")
        }
        if profile.probeIntervalMilliseconds == 0 || profile.gossipIntervalMilliseconds == 0
            || profile.pushPullIntervalMilliseconds == 0 {
            found.append("probe, gossip and push/pull intervals must be positive")
        }
        if profile.probeTimeoutMilliseconds >= profile.probeIntervalMilliseconds {
            found.append("probe timeout must be shorter than the probe interval")
        }
        if profile.awarenessMaxMultiplier < 1 { found.append("awareness max multiplier must be at least 1") }
        if profile.udpBufferSize - encryptionOverheadBytes < 512 { found.append("UDP budget too small") }
        return found
    }
}
