@testable import EspySimulation
import EspyGossip
import XCTest

/// The simulator's own machinery.
final class SimulatorTests: XCTestCase {
    func test_eventQueue_ordersByTimeThenInsertion() {
        var queue = EventQueue<String>()
        queue.push("late", at: 20)
        queue.push("first at 10", at: 10)
        queue.push("second at 10", at: 10)
        queue.push("early", at: 5)
        var order: [String] = []
        while let (_, action) = queue.pop() { order.append(action) }
        XCTAssertEqual(order, ["early", "first at 10", "second at 10", "late"])
    }

    func test_seededRandom_isReproducible() {
        var a = SimulationRandom(seed: 9), b = SimulationRandom(seed: 9), c = SimulationRandom(seed: 10)
        let first = (0..<5).map { _ in a.next() }
        XCTAssertEqual(first, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<5).map { _ in c.next() })
    }

    func test_traceHash_distinguishesOrder() {
        var one = TraceHash(), two = TraceHash()
        one.mix([1, 2, 3])
        two.mix([3, 2, 1])
        XCTAssertNotEqual(one, two)
    }

    func test_streamsToStoppedOrPartitionedNodes_fail_andJoinRetriesUntilTheSeedIsUp() {
        let simulation = GossipSimulation(SimulationConfiguration(seed: 5, datacenterSizes: [2, 1]))
        simulation.start(1, seeds: [0])
        simulation.run(forMilliseconds: 5_000)
        XCTAssertTrue(simulation.instance(1)!.isJoining, "the seed is not running yet")
        XCTAssertGreaterThanOrEqual(simulation.statistics.streamsFailed, 3, "refused joins, retried with backoff")
        simulation.start(0, seeds: [])
        simulation.run(forMilliseconds: 10_000)
        XCTAssertFalse(simulation.instance(1)!.isJoining)
        XCTAssertEqual(simulation.observer.aliveCount(seenBy: 0), 2)

        simulation.partition([[2]])
        simulation.start(2, seeds: [0])
        simulation.run(forMilliseconds: 15_000)
        XCTAssertTrue(simulation.instance(2)!.isJoining, "a partitioned seed times out")
        simulation.heal()
        simulation.run(forMilliseconds: 40_000)
        XCTAssertTrue(simulation.everyRunningNodeSees(aliveCount: 3))
    }
}
