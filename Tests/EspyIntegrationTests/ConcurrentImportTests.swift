import EspyTestKit
import Foundation
import XCTest

/// The same records sent twice at once, through two coordinators: one copy counts them as
/// stored, the other as duplicates, and the counters agree with the records held.
final class ConcurrentImportTests: XCTestCase {
    private var cluster: ClusterHarness!

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0)
    }

    private func storedTotal(at node: String) throws -> Int {
        let metrics = try cluster[node].request("GET", "/metrics").bodyText
        return metrics.split(separator: "\n").first { $0.hasPrefix("espymetrics_records_stored_total ") }
            .flatMap { Int(Double($0.split(separator: " ")[1]) ?? -1) } ?? 0
    }

    func testIdenticalBatchesArrivingAtOnceThroughTwoNodes_storeAndCountEachRecordOnce() throws {
        try cluster.startCluster(["n1", "n2", "n3"])
        let pairs = 30
        let perBatch = 300
        let profiles = ProfileGenerator.profiles(pairs * perBatch, seed: 91)
        var answers: [[String: Any]] = []
        let lock = NSLock()
        for pair in 0..<pairs {
            let body = Array(profiles[(pair * perBatch)..<((pair + 1) * perBatch)].map(\.json).joined(separator: "\n").utf8)
            let group = DispatchGroup()
            for node in ["n1", "n2"] {
                group.enter()
                Thread.detachNewThread { [cluster] in
                    defer { group.leave() }
                    let response = try? cluster!.nodes[node]!.request("POST", "/v1/import", body: body)
                    lock.lock()
                    answers.append(response.flatMap { $0.status == 200 ? $0.json() : nil } ?? ["failed": node])
                    lock.unlock()
                }
            }
            XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        }
        let unique = Set(profiles.map(\.json)).count
        XCTAssertEqual(answers.count, 2 * pairs)
        XCTAssertEqual(answers.filter { $0["failed"] != nil }.count, 0, "\(answers.filter { $0["failed"] != nil })")
        let stored = answers.compactMap { $0["stored"] as? Int }.reduce(0, +)
        let duplicates = answers.compactMap { $0["duplicates"] as? Int }.reduce(0, +)
        XCTAssertEqual(stored, unique, "records claimed as stored by both copies")
        XCTAssertEqual(stored + duplicates, 2 * profiles.count)
        XCTAssertEqual(try storedTotal(at: "n1") + storedTotal(at: "n2"), unique)
        XCTAssertEqual(try cluster.count(at: "n3", "").json["record_count"] as? Int, unique)
    }
}
