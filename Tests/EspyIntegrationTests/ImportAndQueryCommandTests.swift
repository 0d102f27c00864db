import EspyTestKit
import Foundation
import XCTest

/// `espymetrics import` and `espymetrics query count` against a real node process.
final class ImportAndQueryCommandTests: XCTestCase {
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

    /// 100,000 lines, one in a hundred broken: the rest are imported, the broken ones land in
    /// the reject file with their line numbers, and a second run stores nothing new.
    func testImportOfALargeFileWithBrokenLinesIsCompleteAndIdempotent() throws {
        var generator = ProfileGenerator(seed: 42)
        var lines: [String] = []
        var brokenLines: [Int] = []
        var expectedMajor: [String: Int] = [:]
        for index in 0..<100_000 {
            if index % 100 == 37 {
                lines.append(#"{"python": {"version_info": [3, 12"#)
                brokenLines.append(index + 1)
            } else {
                let profile = generator.profile(index: index)
                lines.append(profile.json)
                expectedMajor[String(profile.major), default: 0] += 1
            }
        }
        let input = directory.file("profiles.ndjson")
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let http = "127.0.0.1:\(node.httpPort)"

        let first = try runEspyMetrics(["import", input, "--http", http, "--batch", "5000"])
        XCTAssertEqual(first.status, 1, first.output)
        XCTAssertTrue(first.output.contains("imported 99,000 records (99,000 new, 0 already stored)"), first.output)
        XCTAssertTrue(first.output.contains("rejected 1,000 records"), first.output)
        XCTAssertTrue(first.output.contains("line \(brokenLines[0]):"), first.output)
        let rejected = try String(contentsOfFile: input + ".rejects.ndjson", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rejected.count, 1000)
        XCTAssertTrue(rejected.allSatisfy { $0 == #"{"python": {"version_info": [3, 12"# })

        let second = try runEspyMetrics(["import", input, "--http", http])
        XCTAssertTrue(second.output.contains("imported 99,000 records (0 new, 99,000 already stored)"), second.output)
        XCTAssertEqual(try node.request("GET", "/v1/count").json()?["record_count"] as? Int, 99_000)

        let json = try runEspyMetrics(["query", "count", "--group-by", "python.version_info.0", "--format", "json", "--http", http])
        XCTAssertEqual(json.status, 0, json.output)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        XCTAssertEqual(answer["counts"] as? [String: Int], expectedMajor)
    }

    func testCountTableShowsPercentAndTotal() throws {
        let records = [#"{"os":"linux"}"#, #"{"os":"linux"}"#, #"{"os":"linux"}"#, #"{"os":"mac"}"#, #"{"other":1}"#]
        let body = records.enumerated().map { #"{"n":\#($0.offset),"# + $0.element.dropFirst() }.joined(separator: "\n")
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(body.utf8)).status, 200)
        let table = try runEspyMetrics(["query", "count", "--group-by", "os", "--http", "127.0.0.1:\(node.httpPort)"])
        XCTAssertEqual(table.status, 0, table.output)
        let rows = table.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(rows, [["os", "count", "percent"], ["linux", "3", "60.00%"], ["mac", "1", "20.00%"],
                              ["(missing)", "1", "20.00%"], ["total", "5", "100.00%"]])
        let csv = try runEspyMetrics(["query", "count", "--group-by", "os", "--format", "csv", "--http", "127.0.0.1:\(node.httpPort)"])
        XCTAssertEqual(csv.output, "os,count,percent\nlinux,3,60.00\nmac,1,20.00\n(missing),1,20.00\ntotal,5,100.00\n",
                       "percent is a number a spreadsheet can add up")
    }

    func testSeveralPathsFiltersAndTop_asATable_markdownAndTheRequestItWouldSend() throws {
        let records = [#"{"os":"linux","arch":"x86"}"#, #"{"os":"linux","arch":"x86"}"#, #"{"os":"linux","arch":"arm"}"#,
                       #"{"os":"mac","arch":"arm"}"#, #"{"os":"win","arch":"x86"}"#, #"{"os":"linux"}"#]
        let body = records.enumerated().map { #"{"n":\#($0.offset),"# + $0.element.dropFirst() }.joined(separator: "\n")
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(body.utf8)).status, 200)
        let http = "127.0.0.1:\(node.httpPort)"
        let table = try runEspyMetrics(["query", "count", "--group-by", "os", "--group-by", "arch", "--where-not", "os:win",
                                        "--top", "2", "--http", http])
        XCTAssertEqual(table.status, 0, table.output)
        XCTAssertEqual(table.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) },
                       [["os", "arch", "count", "percent"], ["linux", "x86", "2", "40.00%"], ["linux", "arm", "1", "20.00%"],
                        ["(other)", "2", "40.00%"], ["total", "5", "100.00%"]])
        let markdown = try runEspyMetrics(["query", "count", "--group-by", "arch", "--where", "os:linux", "--where", "os:mac",
                                           "--order", "key", "--format", "markdown", "--http", http])
        XCTAssertEqual(markdown.output, """
            | arch | count | percent |
            | --- | ---: | ---: |
            | arm | 2 | 40.00% |
            | x86 | 2 | 40.00% |
            | (missing) | 1 | 20.00% |
            | total | 5 | 100.00% |

            """)
        let hosts = try runEspyMetrics(["query", "count", "--group-by", "os", "--distinct", "arch", "--format", "csv", "--http", http])
        XCTAssertEqual(hosts.output, "os,count,percent,distinct\nlinux,4,66.67,2\nmac,1,16.67,1\nwin,1,16.67,1\ntotal,6,100.00,\n")
        let request = try runEspyMetrics(["query", "count", "--group-by", "os", "--where", "arch:x86", "--show-request", "--http", http])
        XCTAssertEqual(request.output, "GET http://\(http)/v1/count?group_by=os&where=arch%3Ax86\n")
        let verified = try runEspyMetrics(["query", "count", "--read-consistency", "verified", "--format", "json", "--http", http])
        XCTAssertEqual(verified.status, 0, verified.output)
        XCTAssertTrue(verified.output.contains("\"read_consistency\":\"verified\""), verified.output)
    }

    func testQueryReportsTheNodesErrorAndExitsOne() throws {
        let result = try runEspyMetrics(["query", "count", "--group-by", "a", "--since", "soon", "--http", "127.0.0.1:\(node.httpPort)"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.output.contains("since"), result.output)
    }
}
