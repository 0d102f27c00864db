import EspyCluster
import EspyTestRandom
import XCTest

final class MembershipViewTests: XCTestCase {
    private typealias F = ClusterFixtures

    func testMembersAreKeptByName_whateverTheInputOrder() {
        let view = F.view([F.member("c1", "dc-c"), F.member("a1", "dc-a"), F.member("b1", "dc-b")])
        XCTAssertEqual(view.members.map(\.name), ["a1", "b1", "c1"])
        XCTAssertEqual(view.member(named: "b1")?.datacenter, "dc-b")
        XCTAssertNil(view.member(named: "zz"))
    }

    func testUpdateReplacesByName_removeForgets() {
        var view = F.sixNodes()
        view.update(F.member("b1", "dc-b", .suspect))
        XCTAssertEqual(view.members.count, 6)
        XCTAssertEqual(view.member(named: "b1")?.status, .suspect)
        view.remove(named: "b1")
        XCTAssertNil(view.member(named: "b1"))
        XCTAssertEqual(view.members.count, 5)
    }

    func testDefaultOwnership_followsStatusExceptForTimedOutFailures() {
        XCTAssertEqual(F.member("x", "dc-a", .alive).ownership, .owning)
        XCTAssertEqual(F.member("x", "dc-a", .suspect).ownership, .owning)
        XCTAssertEqual(F.member("x", "dc-a", .dead).ownership, .owning)
        XCTAssertEqual(F.member("x", "dc-a", .left).ownership, .released)
        XCTAssertEqual(F.member("x", "dc-a", .dead, ownership: .released).ownership, .released)
    }

    func testOwnersAndRoutableMembers_areSeparateQuestions() {
        let view = F.view([
            F.member("alive", "dc-a"), F.member("suspect", "dc-a", .suspect), F.member("dead", "dc-b", .dead),
            F.member("expired", "dc-b", .dead, ownership: .released), F.member("left", "dc-c", .left),
        ])
        XCTAssertEqual(view.owners.map(\.name), ["alive", "dead", "suspect"])
        XCTAssertEqual(view.routableMembers, ["alive"])
    }

    func testDigest_isOrderIndependent() {
        let members = F.nodes(30)
        XCTAssertEqual(F.view(members).digest, F.view(members.reversed()).digest)
        var shuffled = members
        var random = SplitMix64(seed: 7)
        shuffled.shuffle(using: &random)
        XCTAssertEqual(F.view(shuffled).digest, F.view(members).digest)
    }

    func testDigest_changesWhenMembershipChanges() {
        let base = F.sixNodes()
        var joined = base
        joined.update(F.member("a3", "dc-a"))
        var left = base
        left.update(F.member("a2", "dc-a", .left))
        var expired = base
        expired.update(F.member("a2", "dc-a", .dead, ownership: .released))
        var moved = base
        moved.update(F.member("a2", "dc-b"))
        let resized = MembershipView(partitionCount: 128, members: base.members)

        let digests = [base, joined, left, moved, resized].map(\.digest)
        XCTAssertEqual(Set(digests).count, digests.count, "every membership change gives a new digest")
        XCTAssertEqual(left.digest, expired.digest, "both leave the same owners")
    }

    func testDigest_ignoresLivenessAddressesAndReleasedMembers() {
        let base = F.sixNodes()
        var flapping = base
        flapping.update(F.member("a1", "dc-a", .suspect))
        flapping.update(F.member("b2", "dc-b", .dead))
        var readdressed = base
        var a1 = readdressed.member(named: "a1")!
        a1.address = "10.9.9.9:1"
        readdressed.update(a1)
        var withGhost = base
        withGhost.update(F.member("old", "dc-a", .left))

        XCTAssertEqual(flapping.digest, base.digest)
        XCTAssertEqual(readdressed.digest, base.digest)
        XCTAssertEqual(withGhost.digest, base.digest, "a node that still lists a departed member agrees on placement")
    }

    func testDigest_isPinned() {
        // FNV-1a-64 over: "espy-membership-view-1", partition count, owner count, then each owner's
        // name and datacenter by name; strings length-prefixed, integers 8 bytes big-endian.
        // Cross-checked with an independent Python implementation. Nodes of different versions
        // compare this value, so it must not change by accident.
        XCTAssertEqual(F.sixNodes().digestHex, "1e68136f2f672276")
        XCTAssertEqual(F.sixNodes().digestHex.count, 16)
    }
}
