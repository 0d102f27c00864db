import EspyCluster
import EspyCore
import EspyTestRandom

/// Small builders shared by the cluster tests, so each test reads as its scenario.
enum ClusterFixtures {
    static let datacenters: [DatacenterName] = ["dc-a", "dc-b", "dc-c"]

    /// `node-001` … `node-NNN`, dealt round-robin over the three datacenters (200 nodes: 67/67/66).
    static func nodes(_ count: Int) -> [Member] {
        (1...count).map { member(nodeName($0), datacenters[($0 - 1) % datacenters.count]) }
    }

    static func nodeName(_ number: Int) -> MemberName {
        MemberName("node-" + String(repeating: "0", count: max(0, 3 - String(number).count)) + String(number))
    }

    static func member(_ name: MemberName, _ datacenter: DatacenterName, _ status: MemberStatus = .alive,
                       ownership: Ownership? = nil) -> Member {
        Member(name: name, datacenter: datacenter, address: "\(name.rawValue).internal:7946",
               status: status, ownership: ownership)
    }

    static func view(_ members: [Member], partitionCount: Int = 4096) -> MembershipView {
        MembershipView(partitionCount: partitionCount, members: members)
    }

    /// Six nodes, two per datacenter, small enough to reason about by hand.
    static func sixNodes() -> MembershipView {
        view([
            member("a1", "dc-a"), member("a2", "dc-a"),
            member("b1", "dc-b"), member("b2", "dc-b"),
            member("c1", "dc-c"), member("c2", "dc-c"),
        ], partitionCount: 64)
    }
}
