@testable import EspyGossip
import XCTest

/// Lifeguard's arithmetic, against the spec's worked examples (§11) and memberlist's formulas.
final class SuspicionAndAwarenessTests: XCTestCase {
    func test_suspicionMinimum_followsLog10OfClusterSize() {
        func minimum(_ nodes: Int) -> UInt64 {
            Suspicion.minimumTimeoutMilliseconds(suspicionMultiplier: 4, nodeCount: nodes, probeIntervalMilliseconds: 1_000)
        }
        XCTAssertEqual(minimum(1), 4_000)
        XCTAssertEqual(minimum(3), 4_000, "log10 below 1 counts as 1")
        XCTAssertEqual(minimum(10), 4_000)
        XCTAssertEqual(minimum(100), 8_000)
        XCTAssertEqual(minimum(200), 9_204, "4 × 2.301 (truncated to thousandths) × 1 s")
        XCTAssertEqual(Suspicion.minimumTimeoutMilliseconds(suspicionMultiplier: 6, nodeCount: 50,
                                                            probeIntervalMilliseconds: 5_000), 50_940, "WAN")
    }

    func test_suspicionTimeout_shrinksLogarithmicallyWithConfirmations() {
        XCTAssertEqual(Suspicion.timeoutMilliseconds(confirmations: 0, expected: 2, minimum: 4_000, maximum: 24_000), 24_000)
        XCTAssertEqual(Suspicion.timeoutMilliseconds(confirmations: 1, expected: 2, minimum: 4_000, maximum: 24_000), 11_381)
        XCTAssertEqual(Suspicion.timeoutMilliseconds(confirmations: 2, expected: 2, minimum: 4_000, maximum: 24_000), 4_000)
        XCTAssertEqual(Suspicion.timeoutMilliseconds(confirmations: 0, expected: 0, minimum: 4_000, maximum: 24_000), 4_000)
    }

    func test_expectedConfirmations_areZeroInTinyClusters() {
        XCTAssertEqual(Suspicion.expectedConfirmations(suspicionMultiplier: 4, nodeCount: 3), 0)
        XCTAssertEqual(Suspicion.expectedConfirmations(suspicionMultiplier: 4, nodeCount: 4), 2)
        XCTAssertEqual(Suspicion.expectedConfirmations(suspicionMultiplier: 3, nodeCount: 200), 1, "local profile")
    }

    func test_suspicion_startsAtMaxWhenConfirmationsAreExpected_andCountsEachAccuserOnce() {
        var suspicion = Suspicion(from: "c", expectedConfirmations: 2, minimumMilliseconds: 4_000,
                                  maximumMilliseconds: 24_000, now: GossipInstant(milliseconds: 100))
        XCTAssertEqual(suspicion.deadline.milliseconds, 24_100)
        XCTAssertFalse(suspicion.confirm(from: "c"), "the first accuser is not a confirmation")
        XCTAssertTrue(suspicion.confirm(from: "d"))
        XCTAssertEqual(suspicion.deadline.milliseconds, 11_481)
        XCTAssertTrue(suspicion.confirm(from: "e"))
        XCTAssertFalse(suspicion.confirm(from: "f"), "no more than k")
        XCTAssertEqual(suspicion.deadline.milliseconds, 4_100)
        XCTAssertEqual(suspicion.confirmations, 2)

        let lone = Suspicion(from: "c", expectedConfirmations: 0, minimumMilliseconds: 4_000, maximumMilliseconds: 24_000,
                             now: .zero)
        XCTAssertEqual(lone.deadline.milliseconds, 4_000, "nothing could shorten it, so it starts at min")
    }

    func test_awareness_staysWithinBounds() {
        var awareness = Awareness(maximumMultiplier: 8)
        awareness.apply(-3)
        XCTAssertEqual(awareness.score, 0)
        awareness.apply(100)
        XCTAssertEqual(awareness.score, 7, "awarenessMaxMultiplier − 1")
        XCTAssertEqual(awareness.scale(1_000), 8_000)
        awareness.apply(-5)
        XCTAssertEqual(awareness.score, 2)
        XCTAssertEqual(awareness.scale(1_000), 3_000)
    }

    func test_profiles_matchMemberlistDefaults() {
        let lan = GossipProfile.lan, wan = GossipProfile.wan, local = GossipProfile.local
        XCTAssertEqual([lan.probeIntervalMilliseconds, lan.probeTimeoutMilliseconds, lan.gossipIntervalMilliseconds,
                        lan.pushPullIntervalMilliseconds, lan.tcpTimeoutMilliseconds, lan.gossipToTheDeadMilliseconds],
                       [1_000, 500, 200, 30_000, 10_000, 30_000])
        XCTAssertEqual([lan.gossipNodes, lan.suspicionMultiplier, lan.suspicionMaxTimeoutMultiplier, lan.retransmitMultiplier,
                        lan.awarenessMaxMultiplier, lan.indirectChecks, lan.udpBufferSize], [3, 4, 6, 4, 8, 3, 1_400])
        XCTAssertEqual([wan.probeIntervalMilliseconds, wan.probeTimeoutMilliseconds, wan.gossipIntervalMilliseconds,
                        wan.pushPullIntervalMilliseconds, wan.tcpTimeoutMilliseconds, wan.gossipToTheDeadMilliseconds],
                       [5_000, 3_000, 500, 60_000, 30_000, 60_000])
        XCTAssertEqual([wan.gossipNodes, wan.suspicionMultiplier, wan.retransmitMultiplier, wan.indirectChecks], [4, 6, 4, 3])
        XCTAssertEqual([local.probeIntervalMilliseconds, local.probeTimeoutMilliseconds, local.gossipIntervalMilliseconds,
                        local.pushPullIntervalMilliseconds, local.tcpTimeoutMilliseconds, local.gossipToTheDeadMilliseconds],
                       [1_000, 200, 100, 15_000, 1_000, 15_000])
        XCTAssertEqual([local.gossipNodes, local.suspicionMultiplier, local.retransmitMultiplier, local.indirectChecks],
                       [3, 3, 2, 1])
        for profile in [lan, wan, local] {
            XCTAssertEqual(profile.deadNodeReclaimMilliseconds, 0)
            XCTAssertFalse(profile.disableTCPPings)
        }
    }

    func test_settings_reportProblems() {
        var settings = GossipSettings(name: "", address: GossipAddress(ip: [1, 2, 3], port: 1))
        settings.meta = Array(repeating: 0, count: 513)
        XCTAssertEqual(settings.problems.count, 3)
        XCTAssertEqual(GossipSettings(name: "a", address: address("a")).problems, [])
    }

    func test_gossipAddress_printsLikeGo() {
        XCTAssertEqual("\(GossipAddress(ip: [127, 0, 0, 1], port: 7946))", "127.0.0.1:7946")
        XCTAssertEqual("\(GossipAddress(ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3], port: 7946))",
                       "10.1.2.3:7946", "IPv4-mapped prints as IPv4")
        XCTAssertEqual("\(GossipAddress(ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], port: 80))", "[::1]:80")
        XCTAssertEqual("\(GossipAddress(ip: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2], port: 1))",
                       "[2001:db8::1:0:0:2]:1")
        XCTAssertEqual("\(GossipInstant(milliseconds: 12_045))", "12.045s")
    }
}
