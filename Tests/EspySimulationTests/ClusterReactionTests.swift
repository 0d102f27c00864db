import EspyCluster
@testable import EspyGossip
import EspySimulation
import XCTest

/// Scenario 6: the cluster layer of all 200 nodes, driven by their gossip: how often placement
/// is rebuilt and repair rounds are planned while the cluster forms, under 10% packet loss, and
/// after 5 kills. Every change reaching a node is one member's; the work that grows with the
/// cluster (a rebuild, a round) must happen a handful of times, not once per event.
final class ClusterReactionTests: XCTestCase {
    private static let partitions = 64

    private func formedCluster(seed: UInt64) -> (GossipSimulation, GossipInstant) {
        let simulation = GossipSimulation(SimulationConfiguration(seed: seed, datacenterSizes: ClusterFixture.datacenterSizes,
                                                                  codec: .none, clusterPartitions: Self.partitions))
        simulation.startCluster(spreadMilliseconds: ClusterFixture.joinSpreadMilliseconds)
        let converged = simulation.run(until: GossipInstant(milliseconds: 120_000)) {
            $0.runningNodes.count == ClusterFixture.nodeCount && $0.everyRunningNodeSees(aliveCount: ClusterFixture.nodeCount)
        }
        XCTAssertNotNil(converged, "the cluster never converged")
        // Past the longest coalescing window, so every node has applied what it saw.
        simulation.run(until: (converged ?? simulation.now).advanced(byMilliseconds: 6_000))
        return (simulation, converged ?? simulation.now)
    }

    private func work(_ simulation: GossipSimulation, _ nodes: [Int]) -> [ClusterLayerSimulation.Work] {
        nodes.map { simulation.cluster!.work[$0] }
    }

    private func assertOnePlacement(_ simulation: GossipSimulation, owners: Int, file: StaticString = #filePath, line: UInt = #line) {
        let maps = simulation.runningNodes.map { simulation.cluster!.maps[$0]! }
        XCTAssertEqual(Set(maps.map(\.digest)).count, 1, "every node places every partition alike", file: file, line: line)
        XCTAssertEqual(maps.first?.ownedPartitionCounts.count, owners, file: file, line: line)
    }

    func test_formation_rebuildsPlacementAHandfulOfTimesPerNode() {
        let (simulation, converged) = formedCluster(seed: 11)
        let all = work(simulation, Array(0..<ClusterFixture.nodeCount))
        let rebuilds = all.map(\.placementRebuilds)
        let rounds = all.map(\.repairRounds)
        let changes = all.map(\.changes)
        ClusterFixture.measure("formation (converged at \(converged)): member changes per node median \(changes.map(UInt64.init).median), "
                               + "max \(changes.max()!); placement rebuilds max \(rebuilds.max()!), total \(rebuilds.reduce(0, +)); "
                               + "repair rounds max \(rounds.max()!), total \(rounds.reduce(0, +))")
        XCTAssertGreaterThanOrEqual(changes.min()!, ClusterFixture.nodeCount - 1, "every node heard of every other")
        // The joins spread over 10 s plus convergence: a 5 s quantum gives at most 4 windows, and
        // a node's first peer is applied at once.
        XCTAssertLessThanOrEqual(rebuilds.max()!, 6)
        XCTAssertLessThanOrEqual(rounds.max()!, 6)
        assertOnePlacement(simulation, owners: ClusterFixture.nodeCount)
    }

    func test_tenPercentLoss_forTwoMinutes_movesNoPartition() {
        let (simulation, _) = formedCluster(seed: 12)
        let before = work(simulation, Array(0..<ClusterFixture.nodeCount))
        simulation.udpLossRate = 0.10
        simulation.run(forMilliseconds: 120_000)
        simulation.udpLossRate = 0
        simulation.run(forMilliseconds: 10_000)
        let after = work(simulation, Array(0..<ClusterFixture.nodeCount))
        let rebuilds = zip(before, after).map { $1.placementRebuilds - $0.placementRebuilds }
        let rounds = zip(before, after).map { $1.repairRounds - $0.repairRounds }
        let suspicions = simulation.observer.events.filter { $0.kind == .suspected }.count
        ClusterFixture.measure("10% loss for 120 s: \(suspicions) suspect events; placement rebuilds \(rebuilds.reduce(0, +)); "
                               + "repair rounds per node max \(rounds.max()!), total \(rounds.reduce(0, +))")
        XCTAssertEqual(rebuilds.reduce(0, +), 0, "suspicions are routing news, never placement news")
        // A node refutes or is suspected a few times a minute at most; each burst is one round.
        XCTAssertLessThanOrEqual(rounds.max()!, 12)
        assertOnePlacement(simulation, owners: ClusterFixture.nodeCount)
    }

    func test_fiveKills_keepPlacement_andCostEachSurvivorAFewRounds() {
        let (simulation, _) = formedCluster(seed: 13)
        let victims = [10, 45, 80, 120, 170]
        let survivors = (0..<ClusterFixture.nodeCount).filter { !victims.contains($0) }
        let before = work(simulation, survivors)
        for victim in victims { simulation.kill(victim) }
        let detected = simulation.run(until: simulation.now.advanced(byMilliseconds: 70_000)) { sim in
            survivors.allSatisfy { sim.cluster!.membership(of: $0)!.routable.count == ClusterFixture.nodeCount - victims.count }
        }
        XCTAssertNotNil(detected, "every survivor stopped routing to the victims")
        simulation.run(forMilliseconds: 40_000) // past gossip's reaping of the dead
        let after = work(simulation, survivors)
        let rebuilds = zip(before, after).map { $1.placementRebuilds - $0.placementRebuilds }
        let rounds = zip(before, after).map { $1.repairRounds - $0.repairRounds }
        ClusterFixture.measure("5 kills: routed around by every survivor at \(detected ?? simulation.now); "
                               + "placement rebuilds \(rebuilds.reduce(0, +)); repair rounds per survivor max \(rounds.max()!), "
                               + "median \(rounds.map(UInt64.init).median)")
        XCTAssertEqual(rebuilds.reduce(0, +), 0, "the dead keep their partitions until the failure timeout")
        XCTAssertLessThanOrEqual(rounds.max()!, 10, "suspicions and deaths of five nodes, coalesced")
        for survivor in survivors {
            let membership = simulation.cluster!.membership(of: survivor)!
            XCTAssertEqual(membership.view.owners.count, ClusterFixture.nodeCount, "victims still own their partitions")
            XCTAssertTrue(victims.allSatisfy { !membership.routable.contains(MemberName(simulation.name($0))) })
        }
        assertOnePlacement(simulation, owners: ClusterFixture.nodeCount)
    }
}
