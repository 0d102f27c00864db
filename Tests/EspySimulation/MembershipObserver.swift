import EspyGossip

/// One membership event, as a simulated node reported it.
public struct ObservedEvent: Sendable {
    public enum Kind: UInt8, Sendable {
        case joined, updated, suspected, recovered, failed, left, reaped
    }

    public let time: GossipInstant
    /// The node that emitted the event.
    public let observer: Int
    /// The node the event is about.
    public let subject: Int
    public let kind: Kind
    public let incarnation: UInt32
}

/// Every node's view of every other, kept up to date from the events the instances emit,
/// so that convergence checks cost O(nodes) instead of querying 200 × 200 members.
/// A final cross-check against the instances' own tables (`mismatches`) proves the events
/// told the whole story.
public struct MembershipObserver: Sendable {
    public private(set) var events: [ObservedEvent] = []
    /// states[observer][subject]; nil when the observer does not know the subject.
    private var states: [[Member.State?]]
    private var aliveCounts: [Int]

    init(nodeCount: Int) {
        states = Array(repeating: Array(repeating: nil, count: nodeCount), count: nodeCount)
        aliveCounts = Array(repeating: 0, count: nodeCount)
    }

    public func state(of subject: Int, seenBy observer: Int) -> Member.State? {
        states[observer][subject]
    }

    /// How many members `observer` currently sees alive, itself included.
    public func aliveCount(seenBy observer: Int) -> Int {
        aliveCounts[observer]
    }

    /// A node restarted (or was killed): its new instance knows nothing yet.
    mutating func forget(observer: Int) {
        states[observer] = Array(repeating: nil, count: states.count)
        aliveCounts[observer] = 0
    }

    mutating func record(_ event: MemberEvent, observer: Int, subject: Int, at time: GossipInstant) {
        let kind: ObservedEvent.Kind
        let newState: Member.State?
        switch event {
        case .joined: kind = .joined; newState = .alive
        case .updated: kind = .updated; newState = .alive
        case .suspected: kind = .suspected; newState = .suspect
        case .recovered: kind = .recovered; newState = .alive
        case .failed: kind = .failed; newState = .dead
        case .left: kind = .left; newState = .left
        case .reaped: kind = .reaped; newState = nil
        }
        if states[observer][subject] == .alive { aliveCounts[observer] -= 1 }
        if newState == .alive { aliveCounts[observer] += 1 }
        states[observer][subject] = newState
        events.append(ObservedEvent(time: time, observer: observer, subject: subject, kind: kind,
                                    incarnation: event.member.incarnation))
    }

    /// Where this view disagrees with `instance`'s own table (observer `observer`); empty when
    /// the events were complete. `index` maps member names to node indices.
    func mismatches(observer: Int, instance: GossipInstance, index: [String: Int]) -> [String] {
        var problems: [String] = []
        var seen = Set<Int>()
        for member in instance.members {
            guard let subject = index[member.name] else {
                problems.append("node \(observer) knows a stranger \(member.name)")
                continue
            }
            seen.insert(subject)
            if states[observer][subject] != member.state {
                problems.append("node \(observer): \(member.name) is \(member.state) but events said "
                                + "\(states[observer][subject].map { "\($0)" } ?? "unknown")")
            }
        }
        for subject in states.indices where !seen.contains(subject) && states[observer][subject] != nil {
            problems.append("node \(observer): events kept \(subject) that the table does not have")
        }
        return problems
    }
}
