import EspyCluster
import EspyCore
@testable import EspyGossip
import EspySimulation
import XCTest

/// Issue 13, three datacenters: one datacenter is cut off from the other two for a simulated
/// minute while clients keep writing on both sides, then the network heals. Writes reach the
/// replicas their coordinator can reach and leave hints for the rest; after the heal, hinted
/// handoff and the repair rounds (`RepairRound`, as `ReplicaRepairer` runs them) make every
/// partition's replicas identical, and every node's membership view agrees again.
final class WANCutTests: XCTestCase {
    func test_datacenterCutOffForAMinute_healsToIdenticalReplicas() {
        let clock = ContinuousClock()
        let began = clock.now
        let (simulation, traffic) = WANFixture.formedCluster()
        traffic.startRepairAndHintedHandoff()
        simulation.run(forMilliseconds: 5_000)  // the first rounds, on empty shards

        // A batch of 5 records every 100 ms from a node chosen in turn, for as long as the test runs.
        var outcomes: [(at: UInt64, WriteOutcome)] = []
        var writing = true
        var batchNumber = 0
        func writeNext() {
            guard writing else { return }
            let coordinator = (batchNumber * 37) % ClusterFixture.nodeCount
            let batch = WANFixture.records(5, tag: "cut-\(batchNumber)")
            batchNumber += 1
            let at = simulation.now.milliseconds
            traffic.write(batch, from: coordinator) { outcomes.append((at, $0)) }
            simulation.schedule(at: simulation.now.milliseconds + 100, writeNext)
        }
        writeNext()
        simulation.run(forMilliseconds: 10_000)

        let isolated = Set(simulation.nodes(inDatacenter: 0))
        let cutAt = simulation.now.milliseconds
        simulation.partition([Array(isolated)])
        simulation.run(forMilliseconds: 60_000)
        let healedAt = simulation.now.milliseconds
        simulation.heal()
        simulation.run(forMilliseconds: 5_000)
        writing = false
        let roundsAtHeal = traffic.repairRoundsBegun

        let bound: UInt64 = 150_000
        var identicalAt: UInt64?, agreedAt: UInt64?
        var roundsAtIdentical = roundsAtHeal
        _ = simulation.run(until: GossipInstant(milliseconds: healedAt + bound), checkingEveryMilliseconds: 500) { sim in
            if identicalAt == nil, self.divergentPartitions(sim, traffic).isEmpty {
                identicalAt = sim.now.milliseconds
                roundsAtIdentical = traffic.repairRoundsBegun
            }
            if agreedAt == nil, self.viewsAgree(sim) { agreedAt = sim.now.milliseconds }
            return identicalAt != nil && agreedAt != nil
        }
        XCTAssertNotNil(identicalAt, "replicas still differ \(bound) ms after the heal: partitions \(divergentPartitions(simulation, traffic).prefix(10))")
        XCTAssertNotNil(agreedAt, "membership views still differ \(bound) ms after the heal")
        simulation.run(forMilliseconds: 5_000)
        XCTAssertEqual(divergentPartitions(simulation, traffic), [], "and they stay identical")
        XCTAssertTrue(viewsAgree(simulation))
        // Each coordinator replays one replica's hints per second, so they drain after repair has
        // already brought the records over; they must drain all the same.
        let drained = simulation.run(until: GossipInstant(milliseconds: healedAt + bound), checkingEveryMilliseconds: 500) { _ in
            traffic.hintsKept == 0
        }
        XCTAssertNotNil(drained, "\(traffic.hintsKept) hints never delivered")

        // Nothing acknowledged was lost: each such record is on every replica of its partition.
        let acknowledged = outcomes.flatMap { _, outcome in
            zip(outcome.records, outcome.result.outcomes).filter { $0.1.verdict == .acknowledged }.map(\.0)
        }
        let map = simulation.cluster!.maps[0]!
        for record in acknowledged {
            let partition = record.partition(of: WANFixture.partitions)
            for replica in map.replicas(of: partition) {
                XCTAssertTrue(traffic.shards[simulation.index(of: replica.rawValue)!].ids(in: partition).contains(record))
            }
        }

        let during = outcomes.filter { $0.at >= cutAt && $0.at < healedAt }.map(\.1)
        func side(_ outcome: WriteOutcome) -> Bool { isolated.contains(outcome.coordinator) }
        let acknowledgedOutside = during.filter { !side($0) && $0.result.allAcknowledged }.count
        let failedInside = during.filter { side($0) && !$0.result.allAcknowledged }.count
        XCTAssertEqual(acknowledgedOutside, during.filter { !side($0) }.count, "the two connected datacenters keep their quorum")
        XCTAssertEqual(failedInside, during.filter(side).count, "the cut-off one cannot reach one")
        let rounds = zip(roundsAtHeal, roundsAtIdentical).map { UInt64($1 - $0) }
        let lastWrite = healedAt + 5_000
        WANFigures.report("Datacenter cut off for 60 s, then healed (simulated, 200 nodes)", [
            "writes during the cut: \(acknowledgedOutside) batches acknowledged from the connected DCs, "
                + "\(failedInside) answered 503 in the cut-off DC; \(acknowledged.count) records acknowledged in all",
            "replicas identical \(ClusterFixture.seconds((identicalAt ?? simulation.now.milliseconds) - healedAt)) after the heal "
                + "(writes went on until \(ClusterFixture.seconds(lastWrite - healedAt)) after it); membership views agree after "
                + "\(ClusterFixture.seconds((agreedAt ?? simulation.now.milliseconds) - healedAt))",
            "repair rounds per node from the heal to identical replicas: median \(rounds.median), max \(rounds.max() ?? 0); "
                + "records pulled by repair \(traffic.recordsPulledByRepair), delivered by hints \(traffic.hintsDelivered) "
                + "(all hints delivered \(ClusterFixture.seconds((drained ?? simulation.now).milliseconds - healedAt)) after the heal)",
        ])
        ClusterFixture.measure("WAN cut test wall \(clock.now - began)")
    }

    /// Partitions whose replicas (as node 0 places them) do not hold the same records.
    private func divergentPartitions(_ simulation: GossipSimulation, _ traffic: ClusterTraffic) -> [Int] {
        let map = simulation.cluster!.maps[0]!
        return (0..<WANFixture.partitions).filter { partition in
            let copies = map.replicas(of: partition).map { traffic.shards[simulation.index(of: $0.rawValue)!].ids(in: partition) }
            return copies.contains { $0 != copies[0] }
        }
    }

    /// Every node sees all 200 alive, routes to all of them, and places every partition alike.
    private func viewsAgree(_ simulation: GossipSimulation) -> Bool {
        guard simulation.everyRunningNodeSees(aliveCount: ClusterFixture.nodeCount) else { return false }
        let memberships = simulation.runningNodes.map { simulation.cluster!.membership(of: $0)! }
        return memberships.allSatisfy { $0.routable.count == ClusterFixture.nodeCount }
            && Set(simulation.runningNodes.map { simulation.cluster!.maps[$0]!.digest }).count == 1
    }
}
