import EspyCluster
import EspyCore
@testable import EspyGossip
import EspySimulation
import Foundation
import XCTest

/// The 200-node cluster over three datacenters on a WAN (`NetworkConditions.threeDatacenterWAN`:
/// 1 ms within a datacenter, 38–42 ms between them, 0.5 % UDP loss), with every node's cluster
/// layer and the cluster's own traffic (`ClusterTraffic`) beside gossip.
///
/// 256 partitions rather than production's 4,096: every node rebuilds placement a handful of
/// times while 200 form, and a debug build pays for each weight; with 256, each node still
/// holds about four partitions, so a count fans out to nearly every node of its datacenter.
enum WANFixture {
    static let partitions = 256
    static let network = NetworkConditions.threeDatacenterWAN

    static var intraDatacenterRoundTripMaxMilliseconds: UInt64 { 2 * network.intraDatacenterLatencyMilliseconds.upperBound }
    static var interDatacenterRoundTripMinMilliseconds: UInt64 { 2 * network.interDatacenterLatencyMilliseconds.lowerBound }
    static var interDatacenterRoundTripMaxMilliseconds: UInt64 { 2 * network.interDatacenterLatencyMilliseconds.upperBound }

    /// The seed of the one formation every WAN test starts from.
    static let seed: UInt64 = 30

    /// A copy of the formed cluster (all 200 see all 200 alive, and every node has applied
    /// placement for all of them), with the cluster's traffic beside it. The cluster is formed
    /// once per test process, since forming 200 nodes is most of what a test would cost, and
    /// copied for each test, so every test starts from the same state whatever ran before.
    static func formedCluster(file: StaticString = #filePath, line: UInt = #line) -> (GossipSimulation, ClusterTraffic) {
        let formed = formedOnce ?? form()
        formedOnce = formed
        XCTAssertTrue(formed.everyRunningNodeSees(aliveCount: ClusterFixture.nodeCount), "the cluster never converged",
                      file: file, line: line)
        let simulation = formed.copy()
        return (simulation, ClusterTraffic(simulation))
    }

    private static var formedOnce: GossipSimulation?

    private static func form() -> GossipSimulation {
        let simulation = GossipSimulation(SimulationConfiguration(seed: seed, datacenterSizes: ClusterFixture.datacenterSizes,
                                                                  network: network, codec: .none, clusterPartitions: partitions))
        simulation.startCluster(spreadMilliseconds: ClusterFixture.joinSpreadMilliseconds)
        let converged = simulation.run(until: GossipInstant(milliseconds: 120_000)) {
            $0.runningNodes.count == ClusterFixture.nodeCount && $0.everyRunningNodeSees(aliveCount: ClusterFixture.nodeCount)
        }
        // Past the longest coalescing window, so every node has applied what it saw.
        simulation.run(until: (converged ?? simulation.now).advanced(byMilliseconds: 6_000))
        return simulation
    }

    /// Ten coordinators per datacenter, spread over it.
    static func coordinators(_ simulation: GossipSimulation) -> [Int] {
        (0..<ClusterFixture.datacenterSizes.count).flatMap { datacenter in
            let nodes = simulation.nodes(inDatacenter: datacenter)
            return stride(from: 1, to: nodes.count, by: nodes.count / 10).prefix(10).map { nodes[$0] }
        }
    }

    /// Distinct record ids, as content-derived ids of distinct records would be.
    static func records(_ count: Int, tag: String) -> [RecordID] {
        (0..<count).map { RecordID(content: Array("{\"wan\":\"\(tag)\",\"n\":\($0)}".utf8)) }
    }

    /// Every partition's replicas as `node`'s map places them, by datacenter index.
    static func replicaDatacenters(_ simulation: GossipSimulation, node: Int, partition: Int) -> [Int] {
        simulation.cluster!.maps[node]!.replicas(of: partition).map { simulation.datacenter(of: simulation.index(of: $0.rawValue)!) }
    }

    static func percentile(_ values: [UInt64], _ fraction: Double) -> UInt64 {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
    }

    static func p50p99(_ values: [UInt64]) -> String {
        "p50 \(percentile(values, 0.50)) ms, p99 \(percentile(values, 0.99)) ms, max \(values.max() ?? 0) ms (n = \(values.count))"
    }
}

/// The figures these tests measure, printed, and kept in the Markdown file named by
/// `ESPY_WAN_FIGURES` when it is set (one section per test, replaced when the test runs again),
/// so that they can be copied into docs/benchmarks.md.
enum WANFigures {
    static func report(_ section: String, _ lines: [String]) {
        for line in lines { ClusterFixture.measure("\(section): \(line)") }
        guard let path = ProcessInfo.processInfo.environment["ESPY_WAN_FIGURES"], !path.isEmpty else { return }
        let heading = "### \(section)"
        var sections = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
            .components(separatedBy: "\n### ").filter { !$0.isEmpty }
            .map { $0.hasPrefix("### ") ? $0 : "### " + $0 }
        sections.removeAll { $0.hasPrefix(heading + "\n") }
        sections.append(([heading, ""] + lines.map { "- " + $0 }).joined(separator: "\n") + "\n")
        sections.sort()
        try? sections.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
