import EspyTestKit
import Foundation
import XCTest

/// A node stopped while it is busy coordinating (counts fanned out to its peers, routed writes,
/// repair) exits 0: nothing that I/O can still reach after shutdown starts is already gone.
/// Before the fix a late peer response crashed the process (`swift_abortRetainUnowned`).
final class ShutdownUnderLoadTests: XCTestCase {
    private var cluster: ClusterHarness!

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0)
    }

    func testSIGINTAndSIGTERMDuringFanOutWritesAndRepair_alwaysExitZero() throws {
        try cluster.startCluster(["n1", "n2", "n3"])
        let profiles = ProfileGenerator.profiles(12_000, seed: 81)
        try cluster.ingest(profiles[..<4_000], through: "n1")
        var exits: [String] = []
        for round in 0..<4 {
            let victim = round == 0 ? try cluster.start("n4", datacenter: "dc1") : try cluster.restart("n4")
            XCTAssertTrue(cluster.waitUntil(30) { cluster.alive(seenBy: "n4").isSuperset(of: ["n1", "n2", "n3", "n4"]) })
            let load = BusyClients(node: victim, profiles: Array(profiles[(4_000 + round * 1_000)..<(5_000 + round * 1_000)]))
            load.start()
            Thread.sleep(forTimeInterval: 0.5 + Double(round % 3) * 0.3)
            let signal = round.isMultiple(of: 2) ? SIGINT : SIGTERM
            victim.signal(signal)
            let status = victim.waitForExit(timeout: 120)
            load.stop()
            exits.append("\(signal == SIGINT ? "SIGINT" : "SIGTERM"): \(status.map(String.init) ?? "still running")")
            let log = victim.log
            let crash = log.range(of: "Program crashed").map { String(log[$0.lowerBound...].prefix(6_000)) } ?? String(log.suffix(2_000))
            XCTAssertEqual(status, 0, "round \(round):\n\(crash)")
        }
        XCTAssertEqual(exits.count, 4, "\(exits)")
    }
}

/// Counts and writes against one node from two background threads until stopped (bounded).
private final class BusyClients {
    private let node: NodeProcess
    private let profiles: [ProfileGenerator.Profile]
    private let lock = NSLock()
    private var stopped = false
    private var threads: [Thread] = []

    init(node: NodeProcess, profiles: [ProfileGenerator.Profile]) {
        self.node = node
        self.profiles = profiles
    }

    func start() {
        threads = [
            Thread { [self] in
                for _ in 0..<2_000 where !lock.withLock({ stopped }) {
                    _ = try? node.request("GET", "/v1/count?group_by=python$version_info$0", timeout: 10)
                }
            },
            Thread { [self] in
                for start in stride(from: 0, to: profiles.count, by: 100) where !lock.withLock({ stopped }) {
                    let body = profiles[start..<min(start + 100, profiles.count)].map(\.json).joined(separator: "\n")
                    _ = try? node.request("POST", "/v1/import", body: Array(body.utf8), timeout: 10)
                }
            },
        ]
        for thread in threads { thread.start() }
    }

    func stop() {
        lock.withLock { stopped = true }
        while threads.contains(where: { !$0.isFinished }) { Thread.sleep(forTimeInterval: 0.05) }
    }
}
