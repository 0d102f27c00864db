@testable import EspyGossip
import EspyGossipWire
import EspySimulation
import XCTest

/// Scenario 5: a run is a pure function of its seed.
///
/// A 30-node cluster (10 per datacenter) keeps this quick while touching every path: 5% UDP
/// loss, a kill detected as failure, a restart that must refute its own death, a partition and
/// its healing, a graceful leave, and LZW compression plus CRC on every packet and stream.
final class DeterminismTests: XCTestCase {
    private struct Outcome: Equatable {
        let trace: TraceHash
        let actions: Int
        let packets: Int
        let events: Int
    }

    private func run(seed: UInt64) throws -> Outcome {
        let simulation = GossipSimulation(SimulationConfiguration(
            seed: seed, datacenterSizes: [10, 10, 10], network: NetworkConditions(udpLossRate: 0.05),
            codec: .compressedWithChecksum))
        simulation.startCluster(spreadMilliseconds: 3_000)
        simulation.run(until: GossipInstant(milliseconds: 20_000))
        XCTAssertTrue(simulation.everyRunningNodeSees(aliveCount: 30))

        simulation.kill(5)
        simulation.run(forMilliseconds: 20_000)
        XCTAssertTrue(simulation.runningNodes.allSatisfy { simulation.observer.state(of: 5, seenBy: $0) == .dead },
                      "node 5 declared dead by all")
        simulation.restart(5, seeds: simulation.seedNodes)
        simulation.run(forMilliseconds: 10_000)
        let reborn = try XCTUnwrap(simulation.instance(5)).localMember
        XCTAssertGreaterThan(reborn.incarnation, 1, "the restarted node refuted its old death")
        XCTAssertTrue(simulation.everyRunningNodeSees(aliveCount: 30))

        simulation.partition([simulation.nodes(inDatacenter: 2)])
        simulation.run(forMilliseconds: 20_000)
        simulation.heal()
        let merged = simulation.run(until: simulation.now.advanced(byMilliseconds: 90_000)) {
            $0.everyRunningNodeSees(aliveCount: 30)
        }
        XCTAssertNotNil(merged, "the partition healed")
        simulation.leave(17)
        simulation.run(forMilliseconds: 5_000)
        simulation.kill(17)
        simulation.run(forMilliseconds: 30_000)
        for node in simulation.runningNodes {
            XCTAssertEqual(simulation.observer.state(of: 17, seenBy: node), .left, "node \(node) saw 17 leave")
            XCTAssertEqual(simulation.observer.aliveCount(seenBy: node), 29, "node \(node)")
        }
        XCTAssertEqual(simulation.statistics.decodeErrors, 0)
        XCTAssertEqual(simulation.viewMismatches(), [])
        return Outcome(trace: simulation.trace, actions: simulation.statistics.actionsProcessed,
                       packets: simulation.statistics.packetsDelivered, events: simulation.observer.events.count)
    }

    func test_sameSeed_givesIdenticalRun_differentSeed_givesDifferentRun() throws {
        let clock = ContinuousClock()
        let began = clock.now
        let first = try run(seed: 42)
        let again = try run(seed: 42)
        let other = try run(seed: 43)
        ClusterFixture.measure("determinism: seed 42 → \(first.trace) (\(first.actions) actions, \(first.packets) packets), "
                               + "again → \(again.trace), seed 43 → \(other.trace); wall \(clock.now - began)")
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(first.trace, other.trace)
    }
}
