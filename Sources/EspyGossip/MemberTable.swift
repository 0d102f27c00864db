/// The member list: a name index plus memberlist's `nodes` slice, whose order is the probe
/// order and the order of push/pull state.
///
/// Dictionaries are used for lookup only, never iterated: Swift seeds their order per
/// process, and a deterministic core must not let that order leak into its decisions.
struct MemberTable: Sendable {
    private(set) var byName: [String: Member]
    private(set) var order: [String]

    /// A table holding only the local node.
    init(local: Member) {
        byName = [local.name: local]
        order = [local.name]
    }

    /// Every member we know, ourselves and unreaped dead included (memberlist `numNodes`,
    /// which scales suspicion timeouts and retransmit limits).
    var count: Int { order.count }

    subscript(name: String) -> Member? {
        byName[name]
    }

    /// Changes a known member in place.
    mutating func update(_ name: String, _ change: (inout Member) -> Void) {
        guard var member = byName[name] else { return }
        change(&member)
        byName[name] = member
    }

    /// Adds a new member at a random position, so that a node joining late is not always
    /// probed last by everyone (memberlist swaps it with a random slot).
    mutating func insert(_ member: Member, rng: inout some RandomNumberGenerator) {
        precondition(byName[member.name] == nil, "\(member.name) is already a member")
        byName[member.name] = member
        order.append(member.name)
        let offset = Int.random(in: 0..<order.count, using: &rng)
        order.swapAt(offset, order.count - 1)
    }

    /// Removes members dead (not left: memberlist never reaps left nodes) for longer than
    /// `gossipToTheDeadMilliseconds`, then shuffles the rest; returns the removed members.
    mutating func reapDeadAndShuffle(now: GossipInstant, gossipToTheDeadMilliseconds: UInt64,
                                     rng: inout some RandomNumberGenerator) -> [Member] {
        var reaped: [Member] = []
        order.removeAll { name in
            guard let member = byName[name], member.state == .dead,
                  now.milliseconds(since: member.stateChangedAt) > gossipToTheDeadMilliseconds else { return false }
            reaped.append(member)
            byName.removeValue(forKey: name)
            return true
        }
        order.shuffle(using: &rng)
        return reaped
    }

    /// Up to `k` distinct random members for which `excluded` is false (memberlist
    /// `kRandomNodes`: at most 3n draws, so small tables are searched exhaustively enough).
    func randomMembers(_ k: Int, rng: inout some RandomNumberGenerator,
                       excluding excluded: (Member) -> Bool) -> [Member] {
        var chosen: [Member] = []
        guard !order.isEmpty, k > 0 else { return chosen }
        var draws = 0
        while draws < 3 * order.count && chosen.count < k {
            draws += 1
            let member = byName[order[Int.random(in: 0..<order.count, using: &rng)]]!
            if excluded(member) || chosen.contains(where: { $0.name == member.name }) { continue }
            chosen.append(member)
        }
        return chosen
    }

    /// All members in probe order.
    var membersInOrder: [Member] {
        order.map { byName[$0]! }
    }
}
