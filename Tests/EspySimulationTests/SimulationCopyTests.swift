@testable import EspyGossip
import EspySimulation
import XCTest

/// `GossipSimulation.copy`, which the WAN tests start from: a copy runs exactly as the original would.
final class SimulationCopyTests: XCTestCase {
    func test_copy_runsExactlyAsTheOriginal_andIndependentlyOfIt() {
        let original = GossipSimulation(SimulationConfiguration(seed: 7, datacenterSizes: [10, 10, 10],
                                                                network: NetworkConditions(udpLossRate: 0.05), clusterPartitions: 32))
        original.startCluster(spreadMilliseconds: 3_000)
        original.run(until: GossipInstant(milliseconds: 15_000))
        let copy = original.copy()
        for simulation in [original, copy] {
            simulation.kill(4)
            simulation.partition([simulation.nodes(inDatacenter: 2)])
            simulation.run(forMilliseconds: 20_000)
            simulation.heal()
            simulation.run(forMilliseconds: 40_000)
        }
        XCTAssertEqual(copy.trace, original.trace)
        XCTAssertEqual(copy.statistics.packetsDelivered, original.statistics.packetsDelivered)
        XCTAssertEqual(copy.observer.events.count, original.observer.events.count)
        XCTAssertEqual((0..<30).map { copy.cluster!.maps[$0]?.digest }, (0..<30).map { original.cluster!.maps[$0]?.digest })

        copy.kill(7)
        copy.run(forMilliseconds: 20_000)
        XCTAssertTrue(original.isRunning(7), "the original is not touched by what its copy does")
        XCTAssertNotEqual(copy.trace, original.trace)
    }
}
