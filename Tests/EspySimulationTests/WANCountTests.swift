import EspyCluster
@testable import EspyGossip
import EspySimulation
import XCTest

/// Issue 13, three datacenters: a count is answered by the coordinator's own datacenter, in
/// about one round trip within it, never one across the WAN.
final class WANCountTests: XCTestCase {
    func test_counts_readOnlyTheCoordinatorsDatacenter_inAboutOneIntraDatacenterRoundTrip() {
        let (simulation, traffic) = WANFixture.formedCluster()
        let written = WANFixture.records(400, tag: "count")
        var acknowledged = 0
        for (index, batch) in stride(from: 0, to: written.count, by: 20).map({ Array(written[$0..<($0 + 20)]) }).enumerated() {
            traffic.write(batch, from: index * 7 % ClusterFixture.nodeCount) { acknowledged += $0.result.allAcknowledged ? batch.count : 0 }
        }
        simulation.run(forMilliseconds: 5_000)  // past the last replica's commit, not only the quorum's
        XCTAssertEqual(acknowledged, written.count)

        // Placement puts one replica in each datacenter, so each holds every partition.
        for partition in 0..<WANFixture.partitions {
            XCTAssertEqual(WANFixture.replicaDatacenters(simulation, node: 0, partition: partition).sorted(), [0, 1, 2],
                           "partition \(partition)")
        }

        let coordinators = WANFixture.coordinators(simulation)
        var outcomes: [CountOutcome] = []
        for round in 0..<20 {
            for (slot, coordinator) in coordinators.enumerated() {
                simulation.schedule(at: simulation.now.milliseconds + UInt64(round * 250 + slot * 7)) {
                    traffic.count(from: coordinator) { outcomes.append($0) }
                }
            }
        }
        simulation.run(forMilliseconds: 6_000)
        XCTAssertEqual(outcomes.count, 20 * coordinators.count, "every count finished")

        var crossDatacenter = 0
        for outcome in outcomes {
            let home = simulation.datacenter(of: outcome.coordinator)
            let away = outcome.subRequests.filter { simulation.datacenter(of: $0.node) != home }
            crossDatacenter += away.count
            XCTAssertEqual(away.count, 0, "count from node \(outcome.coordinator) (dc\(home + 1)) asked "
                           + "\(away.prefix(3).map { simulation.name($0.node) }) in another datacenter")
            XCTAssertFalse(outcome.coverage.isPartial)
            XCTAssertEqual(outcome.recordCount, written.count, "each partition counted once, from one replica")
        }
        let latencies = outcomes.map(\.latencyMilliseconds)
        let fanOut = outcomes.map { UInt64($0.subRequests.count) }
        // A bound well below one WAN round trip, and room for a few intra-datacenter ones.
        XCTAssertLessThanOrEqual(WANFixture.percentile(latencies, 0.99), 5 * WANFixture.intraDatacenterRoundTripMaxMilliseconds)
        XCTAssertLessThan(5 * WANFixture.intraDatacenterRoundTripMaxMilliseconds, WANFixture.interDatacenterRoundTripMinMilliseconds / 4)

        // The same counts if TCP lost segments too (0.5 %, each a 200 ms retransmission): what
        // hedging buys then. Reported, not asserted: the simulation's streams are reliable.
        traffic.settings.segmentLossRate = WANFixture.network.udpLossRate
        var lossy: [CountOutcome] = []
        for round in 0..<20 {
            for (slot, coordinator) in coordinators.enumerated() {
                simulation.schedule(at: simulation.now.milliseconds + UInt64(round * 250 + slot * 7)) {
                    traffic.count(from: coordinator) { lossy.append($0) }
                }
            }
        }
        simulation.run(forMilliseconds: 6_000)
        let lossyHedges = lossy.reduce(0) { $0 + $1.subRequests.count { $0.reason == .hedge } }
        WANFigures.report("Counts (simulated, 200 nodes, 3 DCs, 256 partitions)", [
            "\(outcomes.count) counts from 30 coordinators (10 per DC): latency \(WANFixture.p50p99(latencies)); "
                + "intra-DC round trip 2 ms, inter-DC 76–84 ms; no service time modelled",
            "sub-requests per count median \(fanOut.median); sent to another datacenter: \(crossDatacenter); "
                + "every count exact (\(written.count) records)",
            "with 0.5 % TCP segment loss as well (each lost leg 200 ms late, Linux's minimum RTO): latency "
                + "\(WANFixture.p50p99(lossy.map(\.latencyMilliseconds))), \(lossy.count { $0.latencyMilliseconds > 100 }) of \(lossy.count) over 100 ms, "
                + "\(lossyHedges) hedge sub-requests, to other datacenters "
                + "\(lossy.reduce(0) { sum, outcome in sum + outcome.subRequests.count { simulation.datacenter(of: $0.node) != simulation.datacenter(of: outcome.coordinator) } })",
        ])
    }
}
