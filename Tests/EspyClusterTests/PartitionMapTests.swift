import EspyCluster
import EspyCore
import XCTest

final class PartitionMapTests: XCTestCase {
    private let fullCluster = ClusterFixtures.view(ClusterFixtures.nodes(200))

    func testBalance_200NodesIn3Datacenters_staysWithinMeasuredBound() {
        let map = PartitionMap(view: fullCluster)
        let counts = map.ownedPartitionCounts
        XCTAssertEqual(counts.count, 200)
        let values = counts.values
        let minimum = values.min()!, maximum = values.max()!
        let mean = Double(values.reduce(0, +)) / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        print("placement balance, 4096 partitions, 200 nodes, 3 DCs: min \(minimum) max \(maximum) "
              + "mean \(mean) stddev \(variance.squareRoot()) max/min \(Double(maximum) / Double(minimum))")

        XCTAssertEqual(values.reduce(0, +), 4096 * 3, "every partition has one replica per datacenter")
        // Measured: see the log line. Rendezvous hashing places like independent random choice,
        // so with ~61 partitions per node the spread is binomial (σ ≈ 7.8); these bounds hold for
        // the fixed node names here with a little margin, and fail if the hash loses its mixing.
        XCTAssertGreaterThanOrEqual(minimum, BalanceBound.minimum)
        XCTAssertLessThanOrEqual(maximum, BalanceBound.maximum)
        XCTAssertLessThanOrEqual(Double(maximum) / Double(minimum), BalanceBound.maxOverMin)
        // A binomial spread: 4096 partitions over 66–67 nodes per datacenter.
        let binomialSigma = (4096.0 * (1.0 / 67.0) * (66.0 / 67.0)).squareRoot()
        XCTAssertLessThan(variance.squareRoot(), binomialSigma * 1.25, "spread worse than random placement")
    }

    func testEveryPartitionHasExactlyOneReplicaInEachDatacenter() {
        let map = PartitionMap(view: fullCluster)
        let datacenterOf = Dictionary(uniqueKeysWithValues: fullCluster.members.map { ($0.name, $0.datacenter) })
        XCTAssertEqual(map.datacenters, ClusterFixtures.datacenters)
        XCTAssertEqual(map.replicasPerPartition, 3)
        for partition in 0..<map.partitionCount {
            let replicas = map.replicas(of: partition)
            XCTAssertEqual(replicas.map { datacenterOf[$0]! }, ClusterFixtures.datacenters, "partition \(partition)")
        }
    }

    func testBuildingTheFullMap_isFastEnough_logsTime() {
        let clock = ContinuousClock()
        var map: PartitionMap?
        let elapsed = clock.measure { map = PartitionMap(view: fullCluster) }
        print("placement build, 4096 partitions × 200 nodes: \(elapsed)")
        XCTAssertEqual(map?.partitionCount, 4096)
    }

    func testJoin_movesOnlyThePartitionsTheJoinerWins() {
        let before = PartitionMap(view: fullCluster)
        var grown = fullCluster
        grown.update(ClusterFixtures.member("node-201", "dc-a"))
        let after = PartitionMap(view: grown)

        var moved = 0
        for partition in 0..<4096 {
            let old = before.replicas(of: partition), new = after.replicas(of: partition)
            if old == new { continue }
            moved += 1
            XCTAssertEqual(new[0], "node-201", "partition \(partition) moved to someone other than the joiner")
            XCTAssertEqual(Array(new[1...]), Array(old[1...]), "partition \(partition) moved in another datacenter")
        }
        let won = after.partitions(ownedBy: "node-201").count
        print("join: node-201 took \(moved) partitions (4096/68 ≈ 60)")
        XCTAssertEqual(moved, won)
        XCTAssertTrue((30...100).contains(moved), "joiner took \(moved) partitions, expected about 4096/68")
    }

    func testLeave_movesOnlyTheLeaversPartitions() {
        let before = PartitionMap(view: fullCluster)
        let leaver: MemberName = "node-042"
        let held = Set(before.partitions(ownedBy: leaver))
        var shrunk = fullCluster
        var gone = shrunk.member(named: leaver)!
        gone.status = .left
        gone.ownership = .released
        shrunk.update(gone)
        let after = PartitionMap(view: shrunk)

        XCTAssertEqual(after.partitions(ownedBy: leaver), [])
        for partition in 0..<4096 {
            let old = before.replicas(of: partition), new = after.replicas(of: partition)
            if held.contains(partition) {
                let changed = zip(old, new).filter { $0 != $1 }
                XCTAssertEqual(changed.count, 1, "partition \(partition)")
                XCTAssertEqual(changed.first?.0, leaver)
            } else {
                XCTAssertEqual(old, new, "partition \(partition) moved though its owners stayed")
            }
        }
    }

    func testSuspectAndDeadMembersKeepTheirPartitions() {
        let before = PartitionMap(view: fullCluster)
        var failing = fullCluster
        for (name, status) in [("node-010", MemberStatus.suspect), ("node-011", .dead)] {
            var member = failing.member(named: MemberName(name))!
            member.status = status
            failing.update(member)
        }
        XCTAssertEqual(PartitionMap(view: failing), before)
    }

    func testPlacementIsFixed_knownReplicasForNamedPartitions() {
        let map = PartitionMap(view: fullCluster)
        // Computed once and pinned: a change here moves every node's data on upgrade.
        for (partition, expected) in KnownPlacement.replicas {
            XCTAssertEqual(map.replicas(of: partition), expected, "partition \(partition)")
        }
        XCTAssertEqual(PartitionMap.weight(of: "node-001", partition: 0), KnownPlacement.weightNode001Partition0)
    }

    func testOneNodeClusterOwnsEverything() {
        let map = PartitionMap(view: ClusterFixtures.view([ClusterFixtures.member("solo", "dc-a")]))
        XCTAssertEqual(map.replicasPerPartition, 1)
        XCTAssertEqual(map.partitions(ownedBy: "solo"), Array(0..<4096))
        XCTAssertEqual(map.replicas(of: 4095), ["solo"])
    }

    func testNoOwners_noReplicas() {
        let map = PartitionMap(view: ClusterFixtures.view([ClusterFixtures.member("gone", "dc-a", .left)]))
        XCTAssertEqual(map.replicasPerPartition, 0)
        XCTAssertEqual(map.replicas(of: 7), [])
        XCTAssertEqual(map.partitions(ownedBy: "gone"), [])
    }

    func testTwoReplicasPerDatacenter_extendsTheSingleReplicaChoice() {
        let one = PartitionMap(view: fullCluster)
        let two = PartitionMap(view: fullCluster, replicasPerDatacenter: 2)
        XCTAssertEqual(two.replicasPerPartition, 6)
        for partition in stride(from: 0, to: 4096, by: 97) {
            let replicas = two.replicas(of: partition)
            XCTAssertEqual(Set(replicas).count, 6)
            // Rendezvous top-2 starts with the top-1: adding a replica never moves the first.
            XCTAssertEqual([replicas[0], replicas[2], replicas[4]], one.replicas(of: partition))
            for pair in [(0, 1), (2, 3), (4, 5)] {
                XCTAssertGreaterThan(PartitionMap.weight(of: replicas[pair.0], partition: partition),
                                     PartitionMap.weight(of: replicas[pair.1], partition: partition))
            }
        }
    }

    func testDatacenterWithFewerOwnersThanReplicas_placesWhatItHas() {
        let view = ClusterFixtures.view([
            ClusterFixtures.member("a1", "dc-a"), ClusterFixtures.member("a2", "dc-a"), ClusterFixtures.member("b1", "dc-b"),
        ], partitionCount: 16)
        let map = PartitionMap(view: view, replicasPerDatacenter: 2)
        XCTAssertEqual(map.replicasPerPartition, 3)
        for partition in 0..<16 {
            XCTAssertEqual(Set(map.replicas(of: partition)), ["a1", "a2", "b1"])
            XCTAssertEqual(map.replicas(of: partition).last, "b1")
        }
    }

    func testPartitionsLackingReplicas_countsPartitionsWithAnUnroutableReplica() {
        let map = PartitionMap(view: fullCluster)
        var routable = fullCluster.routableMembers
        XCTAssertEqual(map.partitionsLackingReplicas(routable: routable), [])
        routable.remove("node-005")
        XCTAssertEqual(map.partitionsLackingReplicas(routable: routable), map.partitions(ownedBy: "node-005"))
    }

    func testDigestCoversReplicasPerDatacenter() {
        XCTAssertEqual(PartitionMap(view: fullCluster).digest, PartitionMap(view: fullCluster).digest)
        XCTAssertNotEqual(PartitionMap(view: fullCluster).digest,
                          PartitionMap(view: fullCluster, replicasPerDatacenter: 2).digest)
        XCTAssertEqual(PartitionMap(view: fullCluster).viewDigest, fullCluster.digest)
    }
}

/// Measured on `ClusterFixtures.nodes(200)`: min 40, max 81, mean 61.4, σ 7.69, max/min 2.03.
/// Independent random placement of ~61 partitions per node has σ ≈ 7.76, so about 2× between the
/// emptiest and fullest of 200 nodes is inherent at 4096 partitions, not a flaw of the hash
/// (8192 partitions measure 1.54×, 16384 measure 1.45×). A 1.6× bound is not reachable here
/// without giving up minimal movement.
private enum BalanceBound {
    static let minimum = 38
    static let maximum = 84
    static let maxOverMin = 2.1
}

/// Pinned from the first run and cross-checked against an independent Python implementation of
/// the weight (FNV-1a-64 of the name, SplitMix64-finalized, XOR the finalized partition + golden
/// gamma, finalized again).
private enum KnownPlacement {
    static let replicas: [(Int, [MemberName])] = [
        (0, ["node-016", "node-014", "node-084"]),
        (1, ["node-100", "node-170", "node-183"]),
        (2047, ["node-100", "node-068", "node-099"]),
        (4095, ["node-010", "node-086", "node-081"]),
    ]
    static let weightNode001Partition0: UInt64 = 3_450_035_018_807_344_699
}
