import EspyTestKit
import Foundation
import XCTest

/// `/metrics` checked by a real Prometheus parser (Python's prometheus_client).
final class MetricsEndpointTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var node: NodeProcess!

    override func setUpWithError() throws {
        directory = TemporaryDirectory()
        node = try NodeProcess(dataDirectory: directory.file("data"))
    }

    override func tearDown() {
        node.terminateHard()
        directory.remove()
    }

    /// Parses the exposition with prometheus_client and returns "name{labels}" → value.
    private func scrape() throws -> [String: Double] {
        let response = try node.request("GET", "/metrics")
        XCTAssertEqual(response.status, 200)
        XCTAssertTrue(response.headers["content-type"]?.hasPrefix("text/plain") ?? false)
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                for sample in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                    out[sample.name + "{" + labels + "}"] = sample.value
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(response.body))
        try input.fileHandleForWriting.close()
        let parsed = output.fileHandleForReading.readDataToEndOfFile()
        let failure = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "prometheus_client rejected the exposition: \(failure)\n\(response.bodyText)")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: parsed) as? [String: Double])
    }

    func testExpositionParsesAndCountersMoveWithRequests() throws {
        let before = try scrape()
        let body = #"{"a":1}"# + "\n" + #"{"a":2}"# + "\n" + "not json\n"
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(body.utf8)).status, 200)
        XCTAssertEqual(try node.request("GET", "/v1/count?group_by=a").status, 200)
        XCTAssertEqual(try node.request("GET", "/no/such/path").status, 404)
        let after = try scrape()

        func delta(_ key: String) -> Double { (after[key] ?? 0) - (before[key] ?? 0) }
        XCTAssertEqual(delta("espymetrics_records_stored_total{}"), 2)
        XCTAssertEqual(delta("espymetrics_records_rejected_total{}"), 1)
        XCTAssertEqual(delta("espymetrics_http_requests_total{method=GET,route=/v1/count,status=200}"), 1)
        XCTAssertEqual(delta("espymetrics_http_requests_total{method=GET,route=other,status=404}"), 1)
        XCTAssertEqual(delta("espymetrics_http_request_duration_seconds_count{route=/v1/import}"), 1)
        XCTAssertEqual(after["espymetrics_store_records{}"], 2)
        XCTAssertGreaterThan(after["espymetrics_store_size_bytes{}"] ?? 0, 0)
        XCTAssertEqual(after["espymetrics_gossip_members{status=alive}"], 1, "a node alone is its own one alive member")
        XCTAssertEqual(after["espymetrics_gossip_decode_errors_total{}"], 0)
        // Alone, every partition's one replica is this node: all fully replicated, and ready.
        XCTAssertEqual(after["espymetrics_cluster_partitions{state=fully_replicated}"], 4096)
        XCTAssertEqual(after["espymetrics_cluster_partitions{state=under_replicated}"], 0)
        XCTAssertEqual(after["espymetrics_cluster_partitions{state=catching_up}"], 0)
        XCTAssertEqual(after["espymetrics_cluster_hints_pending{}"], 0)
        XCTAssertEqual(after["espymetrics_node_ready{}"], 1)
    }

    func testEveryRouteTheNodeServesHasItsOwnLabel_andEveryFamilyHasHelp() throws {
        // Leave and remove used to be labelled "other": the label list was a copy of the router's.
        XCTAssertEqual(try node.request("POST", "/v1/cluster/remove", body: Array(#"{"node":"nobody"}"#.utf8)).status / 100, 4)
        XCTAssertEqual(try node.request("GET", "/v1/ready").status, 200)
        let samples = try scrape()
        XCTAssertNotNil(samples.keys.first { $0.hasPrefix("espymetrics_http_requests_total{") && $0.contains("route=/v1/cluster/remove") },
                        "\(samples.keys.filter { $0.contains("http_requests") })")
        XCTAssertNotNil(samples["espymetrics_http_request_duration_seconds_count{route=/v1/ready}"])
        let text = try node.request("GET", "/metrics").bodyText
        let lines = text.split(separator: "\n")
        let families = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        XCTAssertGreaterThan(families.count, 20)
        for family in families {
            let help = lines.first { $0.hasPrefix("# HELP \(family) ") }
            XCTAssertNotNil(help, "no # HELP for \(family)")
            XCTAssertFalse(help?.hasSuffix(" \(family.replacingOccurrences(of: "_", with: " "))") ?? true, "no help text written for \(family)")
        }
    }
}
