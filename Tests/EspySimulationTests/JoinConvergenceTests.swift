@testable import EspyGossip
import EspySimulation
import XCTest

/// Scenario 1: 200 nodes join through three seeds and all of them see all 200 alive.
final class JoinConvergenceTests: XCTestCase {
    /// Bound: every node sees every other alive within 10 s of the last node starting.
    /// Each join is a push/pull that hands the newcomer the seed's whole table, and the seed
    /// gossips the newcomer's alive on; epidemic spread with fan-out 3 every 200 ms reaches
    /// 200 nodes in about log₃(200) ≈ 5 rounds (1 s), and the full retransmit tail
    /// (12 × 200 ms = 2.4 s) covers stragglers. 10 s leaves room for UDP budget queueing
    /// while 200 alive messages compete for 1400-byte packets.
    func test_twoHundredNodes_joinThroughSeeds_andAllSeeAllAlive() {
        let clock = ContinuousClock()
        let began = clock.now
        // The real codec on every packet and stream of the join: 200 × 200 alive messages
        // through msgpack and compound framing, and every push/pull through stream framing.
        let (simulation, converged) = ClusterFixture.joinedCluster(seed: 1, codec: .plain)
        let lastStart = ClusterFixture.joinSpreadMilliseconds
        ClusterFixture.measure("join: all 200 see 200 alive at \(converged) (last node started before 10.000s); "
                               + "wall \(clock.now - began); \(simulation.statistics.packetsSent) packets, "
                               + "\(simulation.statistics.bytesSent) bytes")
        XCTAssertLessThanOrEqual(converged.milliseconds, lastStart + 10_000)

        XCTAssertEqual(simulation.statistics.decodeErrors, 0, "every packet and stream survived the real codec")
        XCTAssertGreaterThan(simulation.statistics.bytesSent, 1_000_000, "the codec was really exercised")
        XCTAssertEqual(simulation.viewMismatches(), [], "the events told the whole story")
        for node in 0..<ClusterFixture.nodeCount {
            let members = simulation.instance(node)!.members
            XCTAssertEqual(members.count, 200)
            XCTAssertTrue(members.allSatisfy { $0.state == .alive && $0.incarnation == 1 }, "nobody needed to refute")
        }
        XCTAssertFalse(simulation.observer.events.contains { $0.kind == .suspected || $0.kind == .failed },
                       "joining caused no suspicion")
    }
}
