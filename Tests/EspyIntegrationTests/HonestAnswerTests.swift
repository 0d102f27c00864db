import EspyTestKit
import Foundation
import XCTest

/// "partial": false promises that every partition was read from a replica holding all of its
/// acknowledged records. Each test breaks one replica in a way that makes it miss writes (a
/// restart without seeds, a pause, a full disk), polls counts at several nodes throughout, and
/// asserts that no answer claiming to be complete differs from the truth.
final class HonestAnswerTests: XCTestCase {
    private var cluster: ClusterHarness!
    private let six = ["n1", "n2", "n3", "n4", "n5", "n6"]

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0)
    }

    private func ready(_ name: String) -> Bool {
        (try? cluster[name].request("GET", "/v1/ready", timeout: 10).status) == 200
    }

    func testARestartedNodeWithoutSeedsRejoinsFromItsSnapshot_andNeverAnswersStaleCountsAsComplete() throws {
        try cluster.startCluster(six)
        let all = ProfileGenerator.profiles(6_000, seed: 71)
        try cluster.ingest(all[..<3_000], through: "n2")
        XCTAssertTrue(cluster.waitUntil(30) { ready("n1") }, "n1 not ready in a settled cluster")
        XCTAssertTrue(FileManager.default.fileExists(atPath: cluster.directory.file("n1") + "/members.json"))
        cluster["n1"].signal(SIGINT)
        XCTAssertEqual(cluster["n1"].waitForExit(timeout: 30), 0)
        try cluster.ingest(all[3_000...], through: "n2")

        // Started as deploy/local-cluster.sh used to start its first node: no seeds at all.
        try cluster.restart("n1", seeded: false)
        let watch = CountWatch(cluster: cluster, names: ["n1", "n2"], truth: all.count)
        watch.start()
        XCTAssertTrue(cluster.waitUntil(60) { cluster.alive(seenBy: "n1").isSuperset(of: six) }, "n1 did not rejoin")
        XCTAssertTrue(cluster.waitUntil(60) { ready("n1") }, "n1 did not become ready")
        Thread.sleep(forTimeInterval: 2)
        let seen = watch.stop()
        XCTAssertEqual(seen.wrong, [], "an answer said complete and was not")
        XCTAssertGreaterThan(seen.complete, 0, "no complete answer was seen")
        let (status, json) = try cluster.count(at: "n1", "")
        XCTAssertEqual(status, 200, "\(json)")
        XCTAssertEqual(json["record_count"] as? Int, all.count)
    }

    func testARestartedNodeWhosePeersAreAllDown_acknowledgesNothingAndAnswersNothingAsComplete() throws {
        try cluster.startCluster(["n1", "n2", "n3"])
        try cluster.ingest(ProfileGenerator.profiles(1_000, seed: 76)[...], through: "n1")
        XCTAssertTrue(cluster.waitUntil(30) { ready("n1") })
        for name in ["n1", "n2", "n3"] {
            cluster[name].signal(SIGINT)
            XCTAssertEqual(cluster[name].waitForExit(timeout: 30), 0)
        }
        try cluster.restart("n1", seeded: false)
        let body = ProfileGenerator.profiles(100, seed: 77).map(\.json).joined(separator: "\n")
        let write = try cluster["n1"].request("POST", "/v1/import", body: Array(body.utf8))
        XCTAssertEqual(write.status, 503, "n1 acknowledged records stored on itself alone: \(write.bodyText.prefix(300))")
        XCTAssertTrue(write.bodyText.contains("\"accepted\":0") || write.bodyText.contains("\"stored\":0"), write.bodyText.prefix(300).description)
        let count = try cluster["n1"].request("GET", "/v1/count")
        XCTAssertEqual(count.status, 503, "n1 answered as if it were the whole cluster: \(count.bodyText.prefix(300))")
        // The 503 names the replicas it could not read, though none was asked.
        XCTAssertTrue(count.bodyText.contains("down or catching up: n1, n2, n3"), count.bodyText.prefix(400).description)
        let readiness = try cluster["n1"].request("GET", "/v1/ready")
        XCTAssertEqual(readiness.status, 503)
        XCTAssertTrue(readiness.bodyText.contains("rejoining the cluster"), readiness.bodyText)
    }

    func testAPausedReplicaIsNotReadUntilItHasCaughtUp() throws {
        try cluster.startCluster(six)
        let all = ProfileGenerator.profiles(20_000, seed: 72)
        try cluster.ingest(all[..<2_000], through: "n1")
        cluster["n3"].signal(SIGSTOP)
        // A majority (the two other replicas) acknowledges every batch while n3 stands still.
        try cluster.ingest(all[2_000...], through: "n1", batch: 1_000)
        let watch = CountWatch(cluster: cluster, names: ["n3", "n5", "n1"], truth: all.count)
        cluster["n3"].signal(SIGCONT)
        watch.start()
        XCTAssertTrue(cluster.waitUntil(90) {
            (try? cluster.count(at: "n3", "").json["record_count"] as? Int) == all.count && ready("n3")
        }, "n3 did not catch up")
        Thread.sleep(forTimeInterval: 2)
        let seen = watch.stop()
        XCTAssertEqual(seen.wrong, [], "an answer said complete and was not")
        XCTAssertGreaterThan(seen.complete, 0)
        XCTAssertTrue(cluster["n3"].log.contains("may have missed writes"), "n3 did not notice it had stood still")
    }

    func testAStoppedPeerDoesNotHoldCountsForLong_theyMoveWhenGossipSuspectsIt() throws {
        // A sub-request timeout far beyond the test's patience: only re-planning on suspicion
        // can answer in time.
        try cluster.startCluster(six, config: "[cluster]\nsub_request_timeout_ms = 60000\n")
        try cluster.ingest(ProfileGenerator.profiles(3_000, seed: 73)[...], through: "n1")
        cluster["n4"].signal(SIGSTOP)
        defer { cluster["n4"].signal(SIGCONT) }
        for name in ["n1", "n2", "n5"] {
            let started = Date()
            let response = try cluster[name].request("GET", "/v1/count", timeout: 30)
            XCTAssertEqual(response.status, 200, response.bodyText)
            XCTAssertEqual(response.json()?["record_count"] as? Int, 3_000, response.bodyText)
            XCTAssertLessThan(Date().timeIntervalSince(started), 25, "a count waited for the stopped peer at \(name)")
        }
    }

    /// A scan of records is work, not a sign of a dead peer: it gets `scan_timeout_ms`, not the
    /// sub-request timeout that counts from rollups and replica writes get. Before, a scan of
    /// 1,000,000 records that took a peer over 3 s came back as a 503 blaming five healthy nodes.
    func testAScanSlowerThanTheSubRequestTimeout_isStillAnsweredByItsPeers() throws {
        // n1 gives a rollup's answer 1 ms, far less than any peer needs to read its records.
        try cluster.start("n1", datacenter: "dc1", config: "[cluster]\nsub_request_timeout_ms = 1\n")
        for (index, name) in six.dropFirst().enumerated() { try cluster.start(name, datacenter: "dc\((index + 1) % 3 + 1)") }
        XCTAssertTrue(cluster.waitUntil(30) { cluster.alive(seenBy: "n1").isSuperset(of: six) && ready("n1") })
        let profiles = ProfileGenerator.profiles(6_000, seed: 78)
        try cluster.ingest(profiles[...], through: "n2")
        XCTAssertTrue(cluster.waitUntil(30) { cluster.convergenceProblems(records: profiles.count).isEmpty })
        let truth = Dictionary(grouping: profiles, by: \.release).mapValues(\.count)
        let (status, json) = try cluster.count(at: "n1", "group_by=uname$release")
        XCTAssertEqual(status, 200, "\(json)")
        XCTAssertEqual(json["counts"] as? [String: Int], truth)
        let coverage = json["coverage"] as? [String: Any]
        XCTAssertEqual(coverage?["partial"] as? Bool, false)
        XCTAssertGreaterThan((coverage?["nodes"] as? [String: Any])?["queried"] as? Int ?? 0, 1, "no peer was asked: \(json)")
    }

    func testAReplicaWithAFullDiskDeclinesWhatItMissed_andHealthSaysSo() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a small tmpfs needs root (CI runs as root)") }
        try cluster.startCluster(["n1", "n2"])
        let dataDirectory = cluster.directory.file("n3")
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        XCTAssertEqual(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dataDirectory]), 0)
        defer { _ = Self.run("/bin/umount", ["-l", dataDirectory]) }
        try cluster.start("n3", datacenter: "dc3")
        XCTAssertTrue(cluster.waitUntil(30) { cluster.alive(seenBy: "n3").isSuperset(of: ["n1", "n2", "n3"]) })
        XCTAssertTrue(cluster.waitUntil(30) { ready("n3") })

        let all = ProfileGenerator.profiles(24_000, seed: 74)
        let watch = CountWatch(cluster: cluster, names: ["n3", "n1"], truth: nil)
        watch.start()
        // n3 fills up part way; every batch still has two of its three replicas.
        try cluster.ingest(all[...], through: "n1", batch: 1_000)
        try cluster.ingest(ProfileGenerator.profiles(1_000, seed: 75)[...], through: "n3", batch: 1_000)
        watch.truth = all.count + 1_000
        XCTAssertTrue(cluster.waitUntil(15) {
            (try? cluster["n3"].request("GET", "/v1/health").json()?["ready"] as? Bool) == false
        }, "n3's health did not say its writes fail")
        XCTAssertEqual(try cluster["n3"].request("GET", "/v1/ready").status, 503)

        XCTAssertEqual(Self.run("/bin/mount", ["-o", "remount,size=256m", dataDirectory]), 0)
        XCTAssertTrue(cluster.waitUntil(120) {
            (try? cluster.count(at: "n3", "").json["record_count"] as? Int) == all.count + 1_000
                && (try? cluster.partitions(of: "n3")["handoff"] as? [String: Any]).flatMap { ($0["catching_up"] as? [String: Any])?["partitions"] as? Int } == 0
        }, "n3 did not catch up once it had space")
        let seen = watch.stop()
        XCTAssertEqual(seen.wrong, [], "an answer said complete and was not")
        if !seen.wrong.isEmpty, let n1 = try? cluster.digests(of: "n1"), let n3 = try? cluster.digests(of: "n3") {
            print("DIAG differing partitions:", n1.filter { n3[$0.key] != $0.value }.map { "\($0.key): n1=\($0.value) n3=\(n3[$0.key] ?? "-")" }.prefix(20))
            print("DIAG n3 log:", cluster["n3"].log.split(separator: "\n").filter { $0.contains("cluster/") && !$0.contains("replica write failed") }.prefix(40).joined(separator: "\n"))
        }
        XCTAssertGreaterThan(seen.complete, 0)
        let failures = cluster["n3"].log.split(separator: "\n").filter { $0.contains("reconciliation failed") }.count
        XCTAssertLessThan(failures, 200, "repair logged every failed reconciliation")
    }

    func testAPeerThatRefusesASubRequestAsBad_isNamedAsRefusing_notAsFailed() throws {
        // One replica per partition (both nodes in dc1), and n2 takes bodies of 1 KiB at most:
        // a count at n1 sends n2 a partition list several KiB long, which n2 answers with 413.
        try cluster.start("n1", datacenter: "dc1")
        try cluster.start("n2", datacenter: "dc1", config: "[http]\nmax_body_bytes = 1024\n")
        XCTAssertTrue(cluster.waitUntil(30) { ready("n1") && ready("n2") })
        let response = try cluster["n1"].request("GET", "/v1/count")
        XCTAssertEqual(response.status, 503, response.bodyText)
        let nodes = (response.json()?["coverage"] as? [String: Any])?["nodes"] as? [String: Any]
        XCTAssertEqual(nodes?["refused"] as? [String], ["n2"], response.bodyText)
        XCTAssertEqual(nodes?["failed"] as? [String], [], response.bodyText)
        XCTAssertTrue(response.bodyText.contains("refused this node's sub-request as bad"), response.bodyText)
        // Log lines reach the file within the log sink's flush interval.
        XCTAssertTrue(cluster.waitUntil(5) { cluster["n1"].log.contains("a peer refused a sub-request as bad") })
        XCTAssertEqual(try cluster["n2"].request("GET", "/v1/count").status, 200, "n2's own sub-requests to n1 fit")
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Polls `GET /v1/count` at some nodes on a background thread and keeps every answer that said
/// it was complete (`"partial": false`) and was not the truth. Partial answers and 503s are
/// honest and only counted. While `truth` is nil (writes still going on) answers are counted
/// but not judged.
final class CountWatch {
    private let nodes: [(name: String, node: NodeProcess)]
    private let lock = NSLock()
    private var truthValue: Int?
    private var stopped = false
    private var thread: Thread?
    private var completeAnswers = 0
    private var honestRefusals = 0
    private var wrongAnswers: [String] = []

    init(cluster: ClusterHarness, names: [String], truth: Int?) {
        nodes = names.map { ($0, cluster[$0]) }
        truthValue = truth
    }

    var truth: Int? {
        get { lock.withLock { truthValue } }
        set { lock.withLock { truthValue = newValue } }
    }

    func start() {
        let thread = Thread { [self] in
            var turn = 0
            // Bounded: at most 20,000 polls (a test stops it long before).
            while turn < 20_000, !lock.withLock({ stopped }) {
                let (name, node) = nodes[turn % nodes.count]
                turn += 1
                guard node.process.isRunning, let response = try? node.request("GET", "/v1/count", timeout: 30) else { continue }
                let json = response.json()
                let partial = (json?["coverage"] as? [String: Any])?["partial"] as? Bool ?? true
                let count = json?["record_count"] as? Int
                lock.withLock {
                    guard response.status == 200, !partial else {
                        honestRefusals += 1
                        return
                    }
                    completeAnswers += 1
                    if let truthValue, count != truthValue {
                        wrongAnswers.append("\(name): \(count.map(String.init) ?? "?") of \(truthValue), said complete")
                    }
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        self.thread = thread
        thread.start()
    }

    /// Stops and returns what was seen.
    func stop() -> (complete: Int, refused: Int, wrong: [String]) {
        lock.withLock { stopped = true }
        while thread?.isFinished == false { Thread.sleep(forTimeInterval: 0.05) }
        return lock.withLock { (completeAnswers, honestRefusals, Array(wrongAnswers.prefix(20))) }
    }
}
