import EspyCluster
@testable import EspyGossip
import EspySimulation
import XCTest

/// Issue 13, three datacenters: a `majority` write (2 of 3 replicas, one per datacenter) is
/// acknowledged after one round trip across the WAN, not two.
final class WANWriteTests: XCTestCase {
    func test_majorityWrites_areAcknowledgedAfterOneInterDatacenterRoundTrip() {
        let (simulation, traffic) = WANFixture.formedCluster()
        let coordinators = WANFixture.coordinators(simulation)
        func writeRounds(_ quorum: WriteQuorum, tag: String, batchSize: Int = 10) -> [WriteOutcome] {
            var outcomes: [WriteOutcome] = []
            for round in 0..<20 {
                for (slot, coordinator) in coordinators.enumerated() {
                    let batch = WANFixture.records(batchSize, tag: "\(tag)-\(round)-\(slot)")
                    simulation.schedule(at: simulation.now.milliseconds + UInt64(round * 250 + slot * 7)) {
                        traffic.write(batch, from: coordinator, quorum: quorum) { outcomes.append($0) }
                    }
                }
            }
            simulation.run(forMilliseconds: 10_000)
            return outcomes
        }
        let majority = writeRounds(.majority, tag: "majority")
        XCTAssertEqual(majority.count, 20 * coordinators.count, "every write answered")
        XCTAssertTrue(majority.allSatisfy(\.result.allAcknowledged))
        let latencies = majority.map(\.latencyMilliseconds)
        // Needs one commit across the WAN (its own datacenter's replica is the other) ...
        XCTAssertGreaterThanOrEqual(latencies.min() ?? 0, WANFixture.interDatacenterRoundTripMinMilliseconds)
        // ... and no more than the slowest such round trip plus one at home: never a second.
        XCTAssertLessThanOrEqual(latencies.max() ?? .max, WANFixture.interDatacenterRoundTripMaxMilliseconds
                                 + WANFixture.intraDatacenterRoundTripMaxMilliseconds)
        for outcome in majority {
            for record in outcome.result.outcomes {
                XCTAssertEqual(record.required, 2)
                XCTAssertEqual(record.committed.count + record.unanswered.count, 3, "all three replicas were sent the record")
            }
        }
        for record in majority.flatMap(\.records) {
            let partition = record.partition(of: WANFixture.partitions)
            let holders = (0..<ClusterFixture.nodeCount).filter { traffic.shards[$0].ids(in: partition).contains(record) }
            XCTAssertEqual(holders.map(simulation.datacenter(of:)).sorted(), [0, 1, 2], "after the slowest replica, one copy per DC")
        }
        XCTAssertEqual(traffic.hintsKept, 0)

        // One record per request (POST /v1/on_import): the faster of the two other datacenters.
        let single = writeRounds(.majority, tag: "single", batchSize: 1).map(\.latencyMilliseconds)
        XCTAssertGreaterThanOrEqual(single.min() ?? 0, WANFixture.interDatacenterRoundTripMinMilliseconds)
        let one = writeRounds(.one, tag: "one").map(\.latencyMilliseconds)
        let all = writeRounds(.all, tag: "all").map(\.latencyMilliseconds)
        WANFigures.report("Writes (simulated, 200 nodes, 3 DCs, 600 batches of 10 records from 30 coordinators)", [
            "write_quorum = majority (2 of 3): ack latency \(WANFixture.p50p99(latencies)); one inter-DC round trip is 76–84 ms",
            "single-record writes, majority: \(WANFixture.p50p99(single))",
            "for comparison, one: \(WANFixture.p50p99(one)); all: \(WANFixture.p50p99(all))",
        ])
    }
}
