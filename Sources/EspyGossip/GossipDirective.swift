import EspyGossipWire

/// What the core wants done; returned by every event method, executed in order by the shell.
public enum GossipDirective: Equatable, Sendable {
    /// Send one UDP packet to `to`: a single message as-is, several as a compound (at most
    /// 127 parts; the core stays within `udpBufferSize` when piggy-backing). The shell
    /// compresses, adds a CRC if it wants to, and encrypts (spec §2).
    case send(to: GossipAddress, messages: [PacketMessage])
    /// Open a TCP stream to `to`, write `message`, read one reply, close. Report the outcome
    /// with `streamResult(id:…)` within `timeoutMilliseconds` (dial plus read deadline);
    /// exactly one result per id.
    case openStream(id: UInt64, to: GossipAddress, message: StreamMessage, timeoutMilliseconds: UInt64)
    /// Call `timerFired(timer)` after this many milliseconds.
    case schedule(GossipTimer, afterMilliseconds: UInt64)
    /// A membership change, for logs, Serf-style member lists and the cluster layer.
    case event(MemberEvent)
    /// An operator removed this member (a leave intent for a member not alive): whatever the
    /// cluster layer remembers of it, even after gossip reaped it, is to be released.
    case removed(node: String)
}

/// Why an outgoing stream produced no reply. Only the fact of failure changes the core's
/// behaviour; the kind is for metrics and logs.
public struct GossipStreamFailure: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case connectFailed, timedOut, closedWithoutReply, undecodableReply
    }

    private let kind: Kind
    /// Free text for logs (the errno, the decoder's complaint …).
    public let detail: String

    private init(_ kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The dial failed (refused, unreachable).
    public static func connectFailed(_ detail: String = "") -> Self { Self(.connectFailed, detail: detail) }
    /// No complete reply before the deadline.
    public static func timedOut(_ detail: String = "") -> Self { Self(.timedOut, detail: detail) }
    /// The peer closed without answering (as Go does for a TCP ping meant for another node).
    public static func closedWithoutReply(_ detail: String = "") -> Self { Self(.closedWithoutReply, detail: detail) }
    /// Bytes arrived but did not decode as a stream message.
    public static func undecodableReply(_ detail: String = "") -> Self { Self(.undecodableReply, detail: detail) }

    public var description: String {
        let name: String
        switch kind {
        case .connectFailed: name = "connect failed"
        case .timedOut: name = "timed out"
        case .closedWithoutReply: name = "closed without reply"
        case .undecodableReply: name = "undecodable reply"
        }
        return detail.isEmpty ? name : "\(name): \(detail)"
    }
}
