@testable import EspyGossip
import EspySimulation
import XCTest

/// Scenario 3: five nodes are killed; every survivor marks them dead within the Lifeguard bound.
final class FailureDetectionTests: XCTestCase {
    /// The bound, from the LAN settings and n = 200:
    ///
    ///     S_min = SuspicionMult × log10(n) × ProbeInterval = 4 × 2.301 × 1 s = 9.204 s
    ///     S_max = SuspicionMaxTimeoutMult × S_min          = 6 × 9.204 s  = 55.224 s
    ///     k     = SuspicionMult − 2                        = 2 confirmations expected
    ///     D     = retransmitLimit × GossipInterval         = 12 × 0.2 s   = 2.4 s (dissemination)
    ///
    /// Counting from the first suspicion of a victim (its first failed probe):
    /// - SWIM alone guarantees death by S_max, and every survivor hears of it within D:
    ///   T_all ≤ S_max + D = 57.6 s.
    /// - Lifeguard: with ~195 survivors probing each victim about once per second between them,
    ///   k = 2 independent confirmations arrive within a couple of probe intervals, so the
    ///   timeout shrinks to S_min: the first death comes at S_min (never sooner) and no later
    ///   than S_min + 2 × ProbeInterval, and every survivor knows by S_min + 2 × ProbeInterval + D
    ///   = 13.6 s after the first suspicion.
    /// The first suspicion itself needs some survivor to probe the victim and wait out one
    /// probe interval; we require it within 5 × ProbeInterval of the kill.
    func test_killedNodes_areDeclaredDeadBySurvivors_withinLifeguardBound() throws {
        let clock = ContinuousClock()
        let began = clock.now
        let (simulation, converged) = ClusterFixture.joinedCluster(seed: 3)
        simulation.run(until: converged.advanced(byMilliseconds: 20_000))
        simulation.codec = .plain
        let profile = GossipProfile.lan
        let interval = profile.probeIntervalMilliseconds
        let suspicionMin = ClusterFixture.suspicionMinimumMilliseconds()
        let suspicionMax = UInt64(profile.suspicionMaxTimeoutMultiplier) * suspicionMin
        let dissemination = ClusterFixture.disseminationMilliseconds()
        XCTAssertEqual([suspicionMin, suspicionMax, dissemination], [9_204, 55_224, 2_400])

        let victims = [10, 45, 80, 120, 170]
        let survivors = (0..<ClusterFixture.nodeCount).filter { !victims.contains($0) }
        let killedAt = simulation.now
        for victim in victims { simulation.kill(victim) }
        let allDead = simulation.run(until: killedAt.advanced(byMilliseconds: 5 * interval + suspicionMax + dissemination)) { sim in
            survivors.allSatisfy { survivor in victims.allSatisfy { sim.observer.state(of: $0, seenBy: survivor) == .dead } }
        }
        XCTAssertNotNil(allDead, "within the SWIM bound, 5 × I + S_max + D")

        let events = simulation.observer.events.filter { $0.time >= killedAt }
        var detectionTimes: [UInt64] = []
        for victim in victims {
            let about = events.filter { $0.subject == victim }
            let firstSuspicion = try XCTUnwrap(about.first { $0.kind == .suspected }).time
            let firstDeath = try XCTUnwrap(about.first { $0.kind == .failed }).time
            XCTAssertLessThanOrEqual(firstSuspicion.milliseconds(since: killedAt), 5 * interval)
            let suspicionLasted = firstDeath.milliseconds(since: firstSuspicion)
            XCTAssertGreaterThanOrEqual(suspicionLasted, suspicionMin, "never sooner than S_min")
            XCTAssertLessThanOrEqual(suspicionLasted, suspicionMin + 2 * interval, "confirmations shortened it to S_min")
            for survivor in survivors {
                let seen = try XCTUnwrap(about.first { $0.observer == survivor && $0.kind == .failed },
                                         "survivor \(survivor) never saw victim \(victim) fail")
                XCTAssertLessThanOrEqual(seen.time.milliseconds(since: firstSuspicion), suspicionMin + 2 * interval + dissemination)
                detectionTimes.append(seen.time.milliseconds(since: killedAt))
            }
            ClusterFixture.measure("victim \(victim): first suspected \(ClusterFixture.seconds(firstSuspicion.milliseconds(since: killedAt))) "
                                   + "after the kill, first declared dead \(ClusterFixture.seconds(firstDeath.milliseconds(since: killedAt)))")
        }
        ClusterFixture.measure("kill 5 of 200: survivors saw the deaths after min \(ClusterFixture.seconds(detectionTimes.min()!)), "
                               + "median \(ClusterFixture.seconds(detectionTimes.median)), max \(ClusterFixture.seconds(detectionTimes.max()!)); "
                               + "wall \(clock.now - began)")
        XCTAssertFalse(events.contains { $0.kind == .failed && !victims.contains($0.subject) }, "no survivor declared dead")
        XCTAssertEqual(simulation.statistics.decodeErrors, 0)
        XCTAssertEqual(simulation.viewMismatches(), [])
    }
}
