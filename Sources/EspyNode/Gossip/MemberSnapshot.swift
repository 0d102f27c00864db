import EspyCore

/// A member as operators see it (`/v1/cluster/members`, `espymetrics members`): gossip state
/// translated to names, wall-clock times and Serf tags.
public struct MemberSnapshot: Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case alive, suspect, dead, left
    }

    public let name: String
    /// The gossip address, "ip:port".
    public let address: String
    public let datacenter: String
    /// The advertised HTTP address, from the `http` tag ("" if the member has none, e.g. a Serf agent).
    public let http: String
    public let status: Status
    public let incarnation: UInt32
    public let tags: [String: String]
    /// When the status last changed, as this node observed it.
    public let since: Timestamp
}

extension [MemberSnapshot] {
    /// Members per status for each datacenter, every status present (0 where none).
    public var countsByDatacenter: [String: [MemberSnapshot.Status: Int]] {
        var counts: [String: [MemberSnapshot.Status: Int]] = [:]
        for member in self {
            var row = counts[member.datacenter] ?? Dictionary(uniqueKeysWithValues: MemberSnapshot.Status.allCases.map { ($0, 0) })
            row[member.status, default: 0] += 1
            counts[member.datacenter] = row
        }
        return counts
    }
}
