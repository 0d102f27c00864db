/// How many of a record's replicas must commit it before the write is acknowledged
/// (config `write_quorum`).
public enum WriteQuorum: String, Hashable, Sendable, CaseIterable {
    /// Fastest, weakest: one copy committed; losing that node before repair loses the record.
    case one
    /// The default: more than half, so an acknowledged record survives any single node loss.
    case majority
    /// Every replica, including unreachable ones: any replica down refuses writes.
    case all

    public static let `default` = WriteQuorum.majority

    /// Reads the config value: `one`, `majority` or `all`, any case, surrounding spaces ignored.
    public init(configText: String) throws(WriteQuorumParseError) {
        let word = configText.trimmingSpaces.lowercased()
        guard let quorum = WriteQuorum(rawValue: word) else { throw WriteQuorumParseError(text: configText) }
        self = quorum
    }

    /// Commits needed out of `replicaCount` replicas, counting unreachable ones (they are
    /// replicas all the same). Never below 1: with no replicas at all nothing can be acknowledged.
    public func required(replicaCount: Int) -> Int {
        precondition(replicaCount >= 0, "a replica count cannot be negative")
        switch self {
        case .one: return 1
        case .majority: return replicaCount / 2 + 1
        case .all: return max(replicaCount, 1)
        }
    }
}

/// `write_quorum` held something other than `one`, `majority` or `all`.
public struct WriteQuorumParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public var description: String {
        "write_quorum '\(text)' is not one of " + WriteQuorum.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
