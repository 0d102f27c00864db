import EspyTestKit
import Foundation
import XCTest

/// A real `espymetrics serve` process on a real port and a real SQLite file.
final class NodeEndToEndTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var node: NodeProcess?

    override func setUp() {
        directory = TemporaryDirectory()
    }

    override func tearDown() {
        if let node, (testRun?.failureCount ?? 0) > 0 { print("node log:\n\(node.log)") }
        node?.terminateHard()
        directory.remove()
    }

    private func startNode() throws -> NodeProcess {
        let node = try NodeProcess(dataDirectory: directory.file("data"))
        self.node = node
        return node
    }

    private func generate(_ count: Int, seed: UInt64) -> [ProfileGenerator.Profile] {
        var generator = ProfileGenerator(seed: seed)
        return (0..<count).map { generator.profile(index: $0) }
    }

    func testBatchIngestIsCountedExactlyAndDownloadedWhole() throws {
        let node = try startNode()
        let profiles = generate(1000, seed: 7)
        let broken = ["{\"unterminated\": ", "[1, 2]", "\"just a string\""]
        let body = (profiles.map(\.json) + broken).joined(separator: "\n")
        let imported = try node.request("POST", "/v1/import", body: Array(body.utf8), contentType: "application/x-ndjson")
        XCTAssertEqual(imported.status, 200, imported.bodyText)
        let answer = try XCTUnwrap(imported.json())
        XCTAssertEqual(answer["accepted"] as? Int, 1000)
        XCTAssertEqual((answer["rejected"] as? [[String: Any]])?.compactMap { $0["index"] as? Int }, [1000, 1001, 1002])

        let byMajor = try XCTUnwrap(node.request("GET", "/v1/count?group_by=python$version_info$0").json())
        let expectedMajor = Dictionary(grouping: profiles, by: { String($0.major) }).mapValues(\.count)
        XCTAssertEqual(byMajor["counts"] as? [String: Int], expectedMajor)
        XCTAssertEqual(byMajor["record_count"] as? Int, 1000)
        XCTAssertEqual(byMajor["error_count"] as? Int, 0)
        XCTAssertEqual(byMajor["grouped_key_count"] as? Int, expectedMajor.count)

        // uname$release is not a declared dimension: this is the scanning path.
        let byRelease = try XCTUnwrap(node.request("GET", "/v1/count?group_by=uname.release").json())
        XCTAssertEqual(byRelease["counts"] as? [String: Int], Dictionary(grouping: profiles, by: \.release).mapValues(\.count))

        let download = try node.request("GET", "/v1/download/import")
        XCTAssertEqual(download.headers["transfer-encoding"], "chunked")
        let lines = download.bodyText.split(separator: "\n")
        XCTAssertEqual(lines.count, 1000)
        let uuids = Set(lines.compactMap { line -> String? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertNotNil(object?["server_time"] as? String)
            return object?["uuid"] as? String
        })
        XCTAssertEqual(uuids, Set(profiles.map(\.uuid)))

        // Re-sending the same batch stores nothing twice.
        let retried = try XCTUnwrap(node.request("POST", "/v1/import", body: Array(body.utf8), contentType: "application/x-ndjson").json())
        XCTAssertEqual(retried["duplicates"] as? Int, 1000)
        XCTAssertEqual(retried["stored"] as? Int, 0)
        XCTAssertEqual(try node.request("GET", "/v1/count").json()?["record_count"] as? Int, 1000)
        XCTAssertEqual(try node.request("GET", "/v1/health").json()?["records"] as? Int, 1000)
    }

    func testLimitCountsOnlyTheNewestRecords() throws {
        let node = try startNode()
        let older = generate(50, seed: 1).map(\.json).joined(separator: "\n")
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(older.utf8)).status, 200)
        Thread.sleep(forTimeInterval: 0.01)
        let newest = #"{"python":{"version_info":[4,0,0,"alpha",1]},"uuid":"newest"}"#
        XCTAssertEqual(try node.request("POST", "/v1/on_import", body: Array(newest.utf8)).status, 200)
        let answer = try XCTUnwrap(node.request("GET", "/v1/count?group_by=python$version_info$0&limit=1").json())
        XCTAssertEqual(answer["counts"] as? [String: Int], ["4": 1])
        XCTAssertEqual(answer["record_count"] as? Int, 1)
    }

    func testBadRequestsAreRefusedAndNothingIsStored() throws {
        let node = try startNode()
        XCTAssertEqual(try node.request("POST", "/v1/on_import").status, 400)
        XCTAssertEqual(try node.request("POST", "/v1/on_import", body: Array("[1]".utf8)).status, 400)
        XCTAssertEqual(try node.request("POST", "/v1/on_import", body: Array("{\"a\":".utf8)).status, 400)
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array("[{\"a\":1},{".utf8)).status, 400)
        let badLimit = try node.request("GET", "/v1/count?group_by=a&limit=-3")
        XCTAssertEqual(badLimit.status, 400)
        XCTAssertTrue(badLimit.bodyText.contains("limit"), badLimit.bodyText)
        XCTAssertEqual(try node.request("GET", "/v1/count?since=yesterday").status, 400)
        XCTAssertEqual(try node.request("GET", "/v1/count").json()?["record_count"] as? Int, 0)
    }

    /// Clients keep sending batches while the node gets SIGTERM: every batch the node
    /// acknowledged must be in the shard after a restart, and the node must exit 0.
    func testSigtermDuringIngestLosesNoAcknowledgedRecord() throws {
        let node = try startNode()
        let port = node.httpPort
        nonisolated(unsafe) let acknowledged = NSMutableSet()  // guarded by lock
        let lock = NSLock()
        let senders = DispatchGroup()
        for sender in 0..<4 {
            senders.enter()
            Thread.detachNewThread {
                defer { senders.leave() }
                var generator = ProfileGenerator(seed: UInt64(100 + sender))
                for batch in 0..<10_000 {
                    let profiles = (0..<50).map { generator.profile(index: sender * 10_000_000 + batch * 100 + $0) }
                    let body = Array(profiles.map(\.json).joined(separator: "\n").utf8)
                    guard let client = try? RawHTTPClient(port: port, receiveTimeout: 30) else { return }
                    let head = "POST /v1/import HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n"
                    guard (try? client.send(Array(head.utf8) + body)) != nil,
                          let response = client.readResponses(1).first else { return }
                    if response.status == 200, (response.json()?["accepted"] as? Int) == 50 {
                        lock.lock()
                        acknowledged.addObjects(from: profiles.map(\.uuid))
                        lock.unlock()
                    }
                }
            }
        }
        // Let some batches land, then ask the node to stop while the senders are mid-flight.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            lock.lock()
            let count = acknowledged.count
            lock.unlock()
            if count >= 2000 { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        node.signal(SIGTERM)
        XCTAssertEqual(node.waitForExit(timeout: 30), 0, node.log)
        senders.wait()
        XCTAssertGreaterThanOrEqual(acknowledged.count, 2000)

        let restarted = try startNode()
        let download = try restarted.request("GET", "/v1/download/import")
        let stored = Set(download.bodyText.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["uuid"] as? String
        })
        let missing = (acknowledged as! Set<String>).subtracting(stored)
        XCTAssertTrue(missing.isEmpty, "\(missing.count) acknowledged records missing after restart")
    }
}
