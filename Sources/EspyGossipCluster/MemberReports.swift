import EspyCluster
import EspyCore
import EspyGossip
import EspyGossipWire

/// Turns gossip's member events into the cluster layer's member changes, keeping the latest
/// report of every member: Serf tags are decoded when a member joins or changes them, not on
/// every status change and not on every read.
public struct MemberReports: Sendable {
    /// Every member gossip knows now, by name.
    public private(set) var members: [String: EspyCluster.Member] = [:]

    public init() {}

    /// The change `event` means for the cluster layer; `now` is when this node saw it.
    public mutating func change(for event: MemberEvent, now: Timestamp) -> ClusterMembership.Change {
        let member = event.member
        if case .reaped = event {
            members[member.name] = nil
            return .reaped(MemberName(member.name))
        }
        let status = member.state
        let previous = members[member.name]
        let since = previous?.status == status ? previous!.since : now
        var report: EspyCluster.Member
        switch (event, previous) {
        case (.suspected, let previous?), (.recovered, let previous?), (.failed, let previous?), (.left, let previous?):
            report = previous
            report.status = status
            report.incarnation = member.incarnation
            report.since = since
        default:
            report = EspyCluster.Member(name: member.name, gossipAddress: member.address.description,
                                        tags: (try? SerfTags.decode(member.meta)) ?? [:], status: status,
                                        incarnation: member.incarnation, since: since)
        }
        members[member.name] = report
        return .reported(report)
    }
}
