import EspyTestKit
import Foundation
import XCTest

/// What a node's internal API and gossip port do with input no peer of ours sends: each is
/// refused, says why, and stores or spreads nothing.
final class InternalInputTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var node: NodeProcess!

    override func setUpWithError() throws {
        directory = TemporaryDirectory()
        node = try NodeProcess(dataDirectory: directory.file("data"))
    }

    override func tearDown() {
        if (testRun?.failureCount ?? 0) > 0 { print("node log:\n\(node.log)") }
        node.terminateHard()
        directory.remove()
    }

    private func post(_ path: String, _ body: String, form: Bool = false) throws -> RawHTTPResponse {
        try node.request("POST", path, body: Array(body.utf8), contentType: form ? "application/x-www-form-urlencoded" : nil)
    }

    private func storedCount() throws -> Int? {
        try node.request("GET", "/v1/count").json()?["record_count"] as? Int
    }

    func testAPartitionListedTwiceIsRefused_whileEveryPartitionListedOnceIsRead() throws {
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(#"{"a": 1}"#.utf8)).status, 200)
        let repeated = try post("/internal/v1/count", "partitions=" + Array(repeating: "5", count: 5_000).joined(separator: ","), form: true)
        XCTAssertEqual(repeated.status, 400)
        XCTAssertTrue(repeated.bodyText.contains("partitions") && repeated.bodyText.contains("more than once"), repeated.bodyText)

        let every = try post("/internal/v1/count", "partitions=" + (0..<4096).map(String.init).joined(separator: ","), form: true)
        XCTAssertEqual(every.status, 200, every.bodyText)
        XCTAssertEqual(every.json()?["record_count"] as? Int, 1)
        XCTAssertEqual(try post("/internal/v1/repair/digests", "3,3").status, 400)
    }

    func testAFetchAnswersEachRecordOnce_andRefusesMoreIdsThanItsLimit() throws {
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(#"{"a": 1}"#.utf8)).status, 200)
        let export = try node.request("GET", "/v1/download/import")
        let stored = try XCTUnwrap(export.bodyText.split(separator: "\n").first)
        let digests = try post("/internal/v1/repair/digests", (0..<4096).map(String.init).joined(separator: ","))
        let partition = try XCTUnwrap(Int(try XCTUnwrap(digests.bodyText.split(separator: " ").first)))
        let diff = try node.request("POST", "/internal/v1/repair/diff?partition=\(partition)",
                                    body: Array(Array(repeating: "0:0", count: 16).joined(separator: ",").utf8))
        let id = try XCTUnwrap(diff.bodyText.split(separator: "\n").first.map(String.init), diff.bodyText)

        let fetched = try post("/internal/v1/repair/fetch", Array(repeating: id, count: 100_000).joined(separator: "\n"))
        XCTAssertEqual(fetched.status, 200)
        XCTAssertEqual(fetched.bodyText.split(separator: "\n").count, 1, "one record for one distinct id")
        XCTAssertTrue(fetched.bodyText.contains(#""a":1"#) && stored.contains(#""a":1"#))

        let distinct = (0...10_000).map { String(format: "%032x", $0) }.joined(separator: "\n")
        let tooMany = try post("/internal/v1/repair/fetch", distinct)
        XCTAssertEqual(tooMany.status, 400)
        XCTAssertTrue(tooMany.bodyText.contains("at most 10000 distinct"), tooMany.bodyText)
    }

    func testAnExportCursorThatIsNoCursorIsABadRequest() throws {
        for cursor in ["zzz:zzz", "12", "12:abc", ""] {
            let response = try node.request("GET", "/internal/v1/export?partitions=0&cursor=" + cursor)
            XCTAssertEqual(response.status, 400, "cursor '\(cursor)': \(response.bodyText)")
            XCTAssertTrue(response.bodyText.contains("cursor"), response.bodyText)
        }
        XCTAssertEqual(try node.request("GET", "/internal/v1/export?partitions=0&cursor=0:" + String(repeating: "0", count: 32)).status, 200)
    }

    func testAStoredRecordWithTwoServerTimesIsRefused_andNothingOfItsBatchIsStored() throws {
        let good = #"{"server_time": "2026-12-01T10:00:00Z", "a": 1}"#
        let twice = #"{"server_time": "2026-12-01T10:00:00Z", "a": 2, "server_time": "2020-01-01T00:00:00Z"}"#
        let escaped = #"{"server_time": "2026-12-01T10:00:00Z", "a": 3, "server\u005ftime": "2020-01-01T00:00:00Z"}"#
        for body in [good + "\n" + twice, good + "\n" + escaped] {
            let response = try post("/internal/v1/records", body)
            XCTAssertEqual(response.status, 400)
            XCTAssertTrue(response.bodyText.contains("duplicate key") && response.bodyText.contains("server"), response.bodyText)
        }
        XCTAssertEqual(try storedCount(), 0)
        XCTAssertEqual(try post("/internal/v1/records", good).status, 200)
        XCTAssertEqual(try storedCount(), 1)
    }

    /// Datagrams of two `alive` claims about a member named "": the node lists no such member,
    /// and counts each datagram once among its decode errors.
    func testGossipAboutAMemberWithoutANameIsDropped_andEachBadDatagramCountsOnce() throws {
        let port = UInt16(node.gossipPort)
        let alive: [UInt8] = [0x04, 0x86]
            + msgpackString("Incarnation") + [0x01]
            + msgpackString("Node") + msgpackString("")
            + msgpackString("Addr") + [0xC4, 0x04, 127, 0, 0, 1]
            + msgpackString("Port") + [0xCD, UInt8(port >> 8), UInt8(port & 0xFF)]
            + msgpackString("Meta") + [0xC0]
            + msgpackString("Vsn") + [0xC4, 0x06, 1, 5, 2, 2, 5, 5]
        let length = [UInt8(alive.count >> 8), UInt8(alive.count & 0xFF)]
        let compound: [UInt8] = [0x07, 0x02] + length + length + alive + alive
        let datagrams = 50
        try sendDatagrams(compound, count: datagrams, to: port)

        Thread.sleep(forTimeInterval: 1)
        let members = try XCTUnwrap(node.request("GET", "/v1/cluster/members").json()?["members"] as? [[String: Any]])
        XCTAssertEqual(members.compactMap { $0["name"] as? String }, ["test-node"])
        let metrics = try node.request("GET", "/metrics").bodyText
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("espymetrics_gossip_decode_errors_total") }
        XCTAssertEqual(line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }, Double(datagrams), "\(line ?? "no line")")
    }

    /// A node whose gossip is encrypted, sent plaintext (as from a peer without its key): it
    /// says so in its log, once however many arrive, and counts each.
    func testGossipThatNoKeyDecryptsIsLoggedOnceAMinute_andCounted() throws {
        let encrypted = try NodeProcess(dataDirectory: directory.file("encrypted"), name: "locked",
                                        extraArguments: ["--encrypt", "lHdjDkiJdHhrNYrHi0H+8a1eqN+yrxcxm+SfjKYtvsY="])
        defer { encrypted.terminateHard() }
        try sendDatagrams([0x05, 0x80], count: 20, to: UInt16(encrypted.gossipPort))
        Thread.sleep(forTimeInterval: 1)
        let warnings = encrypted.log.components(separatedBy: "a gossip packet could not be decoded").count - 1
        XCTAssertEqual(warnings, 1, encrypted.log)
        XCTAssertTrue(encrypted.log.contains("encrypt_keys"), encrypted.log)
        let metrics = try encrypted.request("GET", "/metrics").bodyText
        XCTAssertTrue(metrics.split(separator: "\n").contains { $0.hasPrefix("espymetrics_gossip_decode_errors_total") && $0.hasSuffix(" 20") }, metrics)
    }

    private func msgpackString(_ text: String) -> [UInt8] {
        precondition(text.utf8.count < 32)
        return [0xA0 | UInt8(text.utf8.count)] + Array(text.utf8)
    }

    private func sendDatagrams(_ payload: [UInt8], count: Int, to port: UInt16) throws {
        let sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard sender >= 0 else { throw NodeProcessError(message: "socket: \(errno)") }
        defer { close(sender) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for _ in 0..<count {
            let sent = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(sender, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard sent == payload.count else { throw NodeProcessError(message: "sendto: \(errno)") }
        }
    }
}
