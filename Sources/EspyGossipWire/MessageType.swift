/// The first byte of every memberlist message (spec §3).
///
/// Append only: these numbers are the protocol. Never reorder or reuse a value.
public enum MessageType: UInt8, Sendable, CaseIterable {
    case ping = 0
    case indirectPing = 1
    case ackResp = 2
    case suspect = 3
    case alive = 4
    case dead = 5
    case pushPull = 6
    case compound = 7
    case user = 8
    case compress = 9
    case encrypt = 10
    case nackResp = 11
    case hasCrc = 12
    case err = 13
}
