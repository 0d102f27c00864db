import EspyGossip
import EspyGossipWire
import EspyLoop

/// Config `[gossip]`: where membership gossip listens, whom it joins, and how.
public struct NodeGossipSettings: Equatable {
    /// Loopback, so a node started without configuration is not reachable from other hosts.
    public static let defaultAddress = try! SocketAddress(host: "127.0.0.1", port: 7946)

    /// UDP and TCP, same port.
    public var address = NodeGossipSettings.defaultAddress
    /// The address peers are told to reach us at; nil means the bound one (which then must not
    /// be 0.0.0.0).
    public var advertise: SocketAddress?
    public var seeds: [SocketAddress] = []
    /// memberlist's timing profile; must match the Serf agents' in a mixed cluster.
    public var profile = GossipProfile.default
    /// The first key encrypts, all decrypt; nil: plaintext.
    public var keyring: Keyring?

    public init() {}
}
