@testable import EspyGossip
import EspySimulation
import XCTest

/// Scenario 4: one datacenter is cut off from the other two for 60 s, then the network heals.
final class PartitionTests: XCTestCase {
    /// During the cut each side fails its probes across it: suspicion gets k confirmations at
    /// once (every node probes across), so members across the cut are declared dead after
    /// about S_min = 9.2 s. After healing, memberlist itself never contacts dead members again
    /// (probes, gossip-to-the-dead and push/pull all skip them after 30 s), so the merge rests
    /// on Serf's reconnect: every 30 s each node push/pull-joins a random failed member with
    /// probability failed/live. The exchanged tables tell each node it was declared dead, it
    /// refutes with a higher incarnation, and the alive messages spread. Bound for full
    /// convergence after healing: 2 × ReconnectInterval (two reconnect rounds) + S_min + D,
    /// since reconnect merges can raise fresh, quickly refuted suspicions = 60 + 9.2 + 2.4 s.
    func test_partitionedDatacenter_isSuspectedAcrossTheCut_andRejoinsWithRefutation() {
        let clock = ContinuousClock()
        let began = clock.now
        let (simulation, converged) = ClusterFixture.joinedCluster(seed: 4)
        // Nodes started within the first 10 s, so their reconnect ticks fall in [30 s, 40 s),
        // [60 s, 70 s) …; cutting at ~46 s heals at ~106 s, just after a round of ticks: the
        // slow case, where the merge waits for the next round.
        simulation.run(until: converged.advanced(byMilliseconds: 35_000))
        let isolated = Set(simulation.nodes(inDatacenter: 0))
        let cutAt = simulation.now
        simulation.partition([Array(isolated)])
        simulation.run(forMilliseconds: 60_000)
        let healedAt = simulation.now

        let during = simulation.observer.events.filter { $0.time >= cutAt && $0.time < healedAt }
        func crossesCut(_ event: ObservedEvent) -> Bool { isolated.contains(event.observer) != isolated.contains(event.subject) }
        let suspectedAcross = during.filter { $0.kind == .suspected && crossesCut($0) }
        let deadAcross = during.filter { $0.kind == .failed && crossesCut($0) }
        XCTAssertGreaterThan(suspectedAcross.filter { isolated.contains($0.observer) }.count, 0, "the isolated side suspects the rest")
        XCTAssertGreaterThan(suspectedAcross.filter { !isolated.contains($0.observer) }.count, 0, "the rest suspects the isolated side")
        XCTAssertGreaterThan(deadAcross.filter { isolated.contains($0.observer) }.count, 0)
        XCTAssertGreaterThan(deadAcross.filter { !isolated.contains($0.observer) }.count, 0)
        XCTAssertFalse(during.contains { ($0.kind == .suspected || $0.kind == .failed) && !crossesCut($0) },
                       "nobody is suspected by its own side")
        XCTAssertEqual(simulation.observer.aliveCount(seenBy: 0), isolated.count, "the cut side sees only itself")
        XCTAssertEqual(simulation.observer.aliveCount(seenBy: 199), ClusterFixture.nodeCount - isolated.count)

        simulation.heal()
        let bound = 2 * simulation.instance(0)!.settings.reconnectIntervalMilliseconds
            + ClusterFixture.suspicionMinimumMilliseconds() + ClusterFixture.disseminationMilliseconds()
        XCTAssertEqual(bound, 71_604)
        let merged = simulation.run(until: healedAt.advanced(byMilliseconds: bound), checkingEveryMilliseconds: 200) {
            $0.everyRunningNodeSees(aliveCount: ClusterFixture.nodeCount)
        }
        XCTAssertNotNil(merged, "all 200 alive everywhere within \(bound) ms of healing")
        let reconnects = simulation.runningNodes.reduce(UInt64(0)) { $0 + simulation.instance($1)!.metrics.reconnectAttempts }
        let incarnations = (0..<ClusterFixture.nodeCount).map { simulation.instance($0)!.localMember.incarnation }
        let refutedInside = isolated.filter { incarnations[$0] > 1 }.count
        let refutedOutside = (0..<ClusterFixture.nodeCount).filter { !isolated.contains($0) && incarnations[$0] > 1 }.count
        ClusterFixture.measure("partition 67 | 133 for 60 s: \(suspectedAcross.count) suspect and \(deadAcross.count) dead "
                               + "events across the cut; first dead across it \(ClusterFixture.seconds(deadAcross.first.map { $0.time.milliseconds(since: cutAt) } ?? 0)) "
                               + "after the cut; all alive again \(ClusterFixture.seconds(merged.map { $0.milliseconds(since: healedAt) } ?? 0)) "
                               + "after healing; incarnation > 1 on \(refutedInside)/67 inside and \(refutedOutside)/133 outside "
                               + "(max \(incarnations.max()!)); \(reconnects) reconnect push/pulls; wall \(clock.now - began)")
        XCTAssertGreaterThan(refutedInside, 0, "isolated nodes refuted their deaths")
        XCTAssertGreaterThan(refutedOutside, 0, "and so did nodes on the other side")
        for node in 0..<ClusterFixture.nodeCount {
            XCTAssertTrue(simulation.instance(node)!.members.allSatisfy { $0.state == .alive })
        }
        XCTAssertEqual(simulation.statistics.decodeErrors, 0)
        XCTAssertEqual(simulation.viewMismatches(), [])
    }
}
