@testable import EspyGossip
import EspySimulation
import XCTest

/// The 200-node, three-datacenter cluster every scenario starts from, and measuring helpers.
///
/// LAN profile throughout: it is the Serf agent's default and what the nodes will run; the
/// cross-datacenter latency here (20–40 ms one way) is far inside its 500 ms probe timeout.
enum ClusterFixture {
    static let nodeCount = 200
    static let datacenterSizes = [67, 67, 66]
    /// Non-seed nodes start at random moments within this window (ms).
    static let joinSpreadMilliseconds: UInt64 = 10_000

    /// Starts the cluster and runs until every node sees all 200 alive; returns the simulation
    /// and when that happened (virtual time).
    static func joinedCluster(seed: UInt64, codec: CodecRoundTrip = .none,
                              adjust: @escaping @Sendable (inout GossipSettings) -> Void = { _ in },
                              file: StaticString = #filePath, line: UInt = #line) -> (GossipSimulation, GossipInstant) {
        let simulation = GossipSimulation(SimulationConfiguration(seed: seed, datacenterSizes: datacenterSizes, codec: codec,
                                                                  adjustSettings: adjust))
        simulation.startCluster(spreadMilliseconds: joinSpreadMilliseconds)
        let converged = simulation.run(until: GossipInstant(milliseconds: 120_000)) {
            $0.runningNodes.count == nodeCount && $0.everyRunningNodeSees(aliveCount: nodeCount)
        }
        XCTAssertNotNil(converged, "the cluster never converged", file: file, line: line)
        return (simulation, converged ?? simulation.now)
    }

    /// Suspicion timeout bounds for a cluster of `nodeCount` under `profile` (memberlist's formula).
    static func suspicionMinimumMilliseconds(_ profile: GossipProfile = .lan, nodeCount: Int = nodeCount) -> UInt64 {
        Suspicion.minimumTimeoutMilliseconds(suspicionMultiplier: profile.suspicionMultiplier, nodeCount: nodeCount,
                                             probeIntervalMilliseconds: profile.probeIntervalMilliseconds)
    }

    /// Time for one broadcast to be sent its full retransmit limit by the gossip timer alone:
    /// retransmitLimit × gossipInterval. News spreads epidemically well within it.
    static func disseminationMilliseconds(_ profile: GossipProfile = .lan, nodeCount: Int = nodeCount) -> UInt64 {
        UInt64(BroadcastQueue.retransmitLimit(multiplier: profile.retransmitMultiplier, nodeCount: nodeCount))
            * profile.gossipIntervalMilliseconds
    }

    static func measure(_ text: String) {
        print("[measure] \(text)")
    }

    static func seconds(_ milliseconds: UInt64) -> String {
        "\(GossipInstant(milliseconds: milliseconds))"
    }
}

extension Array where Element == UInt64 {
    var median: UInt64 { isEmpty ? 0 : sorted()[count / 2] }
}
