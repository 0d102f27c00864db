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

    private func rejectedIndexes(_ answer: [String: Any]?) -> [Int]? {
        (answer?["rejected"] as? [[String: Any]])?.compactMap { $0["index"] as? Int }
    }

    /// A JSON array (what the Python collector sends) with one broken element stores the others,
    /// as NDJSON does; only an array that cannot be split at all is a 400.
    func testBadArrayElementIsRejectedAloneAndTheOthersStored() throws {
        let node = try startNode()
        let imported = try node.request("POST", "/v1/import", body: Array(#"[{"a":1}, {"b":}, {"c":3}]"#.utf8),
                                        contentType: "application/json")
        XCTAssertEqual(imported.status, 200, imported.bodyText)
        let answer = try imported.json()
        XCTAssertEqual(answer?["accepted"] as? Int, 2)
        XCTAssertEqual(rejectedIndexes(answer), [1])
        XCTAssertEqual(try node.request("GET", "/v1/count").json()?["record_count"] as? Int, 2)
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(#"[{"a":1} {"c":3}]"#.utf8)).status, 400)
    }

    /// Inputs every reader would not read alike are refused: duplicate keys (first or last wins,
    /// depending on the reader) and numbers too long for Python's int.
    func testDuplicateKeysAndOverlongNumbersAreRefused() throws {
        let node = try startNode()
        let duplicate = try node.request("POST", "/v1/on_import", body: Array(#"{"dup":"first","dup":"second"}"#.utf8))
        XCTAssertEqual(duplicate.status, 400)
        XCTAssertTrue(duplicate.bodyText.contains("duplicate key 'dup'"), duplicate.bodyText)
        let nested = try node.request("POST", "/v1/on_import", body: Array(#"{"a":{"k":1,"k":2}}"#.utf8))
        XCTAssertEqual(nested.status, 400)

        let huge = #"{"n":"# + String(repeating: "1", count: 1_000_000) + "}"
        let number = try node.request("POST", "/v1/on_import", body: Array(huge.utf8))
        XCTAssertEqual(number.status, 400)
        XCTAssertTrue(number.bodyText.contains("number longer than 4300 characters"), number.bodyText)

        let batch = #"[{"ok":1},{"d":1,"d":2},{"n":"# + String(repeating: "2", count: 4301) + "}]"
        let answer = try node.request("POST", "/v1/import", body: Array(batch.utf8)).json()
        XCTAssertEqual(answer?["accepted"] as? Int, 1)
        XCTAssertEqual(rejectedIndexes(answer), [1, 2])
        XCTAssertEqual(try node.request("GET", "/v1/count").json()?["record_count"] as? Int, 1)
    }

    /// Files saved by Windows editors start with a UTF-8 byte-order mark.
    func testBodiesStartingWithAByteOrderMarkAreAccepted() throws {
        let node = try startNode()
        let mark = "\u{FEFF}"
        let single = try node.request("POST", "/v1/on_import", body: Array((mark + #"{"a":1}"#).utf8))
        XCTAssertEqual(single.status, 200, single.bodyText)
        let lines = try node.request("POST", "/v1/import", body: Array((mark + "{\"b\":1}\n{\"b\":2}").utf8),
                                     contentType: "application/x-ndjson")
        XCTAssertEqual(lines.json()?["accepted"] as? Int, 2, lines.bodyText)
        let array = try node.request("POST", "/v1/import", body: Array((mark + #"[{"c":1},{"c":2}]"#).utf8))
        XCTAssertEqual(array.json()?["accepted"] as? Int, 2, array.bodyText)
        XCTAssertEqual(try node.request("GET", "/v1/count").json()?["record_count"] as? Int, 5)
    }

    /// Every endpoint refuses a parameter it does not take, or one given twice, naming it.
    func testUnknownAndRepeatedQueryParametersAreRefusedEverywhere() throws {
        let node = try startNode()
        let record = Array(#"{"a":1}"#.utf8)
        for (method, target, body) in [("POST", "/v1/on_import?x=1", record), ("POST", "/v1/import?x=1", record),
                                       ("GET", "/v1/health?x=1", []), ("GET", "/metrics?x=1", []),
                                       ("GET", "/v1/count?x=1", []), ("GET", "/v1/download/import?x=1", []),
                                       ("GET", "/v1/ready?x=1", []), ("GET", "/v1/cluster/members?x=1", []),
                                       ("GET", "/v1/cluster/partitions?x=1", []), ("POST", "/v1/cluster/remove?node=n9&x=1", []),
                                       ("POST", "/v1/cluster/leave?x=1", [])] {
            let response = try node.request(method, target, body: body)
            XCTAssertEqual(response.status, 400, target)
            XCTAssertTrue(response.bodyText.contains("parameter 'x' is not known"), "\(target): \(response.bodyText)")
        }
        for target in ["/v1/count?top=1&top=2", "/v1/count?allow_partial=true&allow_partial=false",
                       "/v1/download/import?since=2026-01-01&since=2026-01-02"] {
            let response = try node.request("GET", target)
            XCTAssertEqual(response.status, 400, target)
            XCTAssertTrue(response.bodyText.contains("more than once"), "\(target): \(response.bodyText)")
        }
        XCTAssertEqual(try node.request("GET", "/v1/count").json()?["record_count"] as? Int, 0)
        XCTAssertEqual(try node.request("GET", "/v1/health").status, 200)
        XCTAssertEqual(try node.request("GET", "/metrics").status, 200)
    }

    /// docs/api.md shows offsets with a literal `+`, which a query string decodes to a space.
    func testTimeWithALiteralPlusInItsOffsetIsAccepted() throws {
        let node = try startNode()
        XCTAssertEqual(try node.request("POST", "/v1/on_import", body: Array(#"{"a":1}"#.utf8)).status, 200)
        let plus = try node.request("GET", "/v1/count?since=2000-12-01T22:00:00+01:00&until=2999-01-01T00:00:00+01:00")
        XCTAssertEqual(plus.status, 200, plus.bodyText)
        XCTAssertEqual(plus.json()?["record_count"] as? Int, 1)
        let encoded = try node.request("GET", "/v1/count?since=2999-12-01T22:00:00%2B01:00")
        XCTAssertEqual(encoded.json()?["record_count"] as? Int, 0, encoded.bodyText)
        let bad = try node.request("GET", "/v1/count?since=2026-12-01T22:00+01:00")
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.bodyText.contains("%2B"), bad.bodyText)
    }

    func testOverlongGroupByIsABadRequestNamingIt() throws {
        let node = try startNode()
        let path = Array(repeating: "a", count: 10_000).joined(separator: "$")
        let response = try node.request("GET", "/v1/count?group_by=" + path)
        XCTAssertEqual(response.status, 400, response.bodyText)
        XCTAssertTrue(response.bodyText.contains("parameter 'group_by'"), response.bodyText)
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
