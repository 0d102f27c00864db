import EspyTestKit
import Foundation
import XCTest

/// `espymetrics query count`: values that look like the table's own rows or break its layout,
/// CSV a spreadsheet can use safely, partial answers, and `--limit` errors.
final class CLICountCommandTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUp() { directory = TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    func testValuesThatLookLikeSummaryRowsOrBreakTheLayoutAreQuoted_andCSVIsSafeForSpreadsheets() throws {
        let node = try NodeProcess(dataDirectory: directory.file("data"))
        defer { node.terminateHard() }
        let records = [#"{"os":"total"}"#, #"{"os":"total"}"#, #"{"os":"(missing)"}"#, #"{"os":"a\nb"}"#, #"{"os":"=1+2"}"#,
                       #"{"os":-2}"#, #"{"os":"+cmd"}"#, #"{"other":1}"#]
        let body = records.enumerated().map { #"{"n":\#($0.offset),"# + $0.element.dropFirst() }.joined(separator: "\n")
        XCTAssertEqual(try node.request("POST", "/v1/import", body: Array(body.utf8)).status, 200)
        let http = "127.0.0.1:\(node.httpPort)"

        let table = try runEspyMetrics(["query", "count", "--group-by", "os", "--http", http])
        XCTAssertEqual(table.status, 0, table.output)
        XCTAssertEqual(table.output.split(separator: "\n").count, 9, "one line per row, whatever the values hold:\n\(table.output)")
        let rows = table.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(rows, [["os", "count", "percent"], [#""total""#, "2", "25.00%"], [#""(missing)""#, "1", "12.50%"],
                              ["+cmd", "1", "12.50%"], ["-2", "1", "12.50%"], ["=1+2", "1", "12.50%"], [#""a\nb""#, "1", "12.50%"],
                              ["(missing)", "1", "12.50%"], ["total", "8", "100.00%"]])

        let csv = try runEspyMetrics(["query", "count", "--group-by", "os", "--format", "csv", "--http", http])
        XCTAssertEqual(csv.status, 0, csv.output)
        XCTAssertEqual(csv.output, """
            os,count,percent
            \"""total\""",2,25.00
            \"""(missing)\""",1,12.50
            '+cmd,1,12.50
            -2,1,12.50
            '=1+2,1,12.50
            \"""a\\nb\""",1,12.50
            (missing),1,12.50
            total,8,100.00

            """)
    }

    func testFormulaCharactersAreEscapedInEveryCSVCell() throws {
        let node = try CLIScriptedNode { _, _ in
            (200, #"{"counts":{"@SUM(A1)":1,"-cmd|' /C calc'!A0":1,"plain":1},"record_count":3,"grouped_key_count":3,"#
                + #""grouped_by":"=x","error_count":0,"coverage":{"partial":false}}"#)
        }
        defer { node.close() }
        let csv = try runEspyMetrics(["query", "count", "--group-by", "=x", "--format", "csv", "--http", node.http])
        XCTAssertEqual(csv.status, 0, csv.output)
        XCTAssertEqual(csv.output.split(separator: "\n").map(String.init),
                       ["'=x,count,percent", "'-cmd|' /C calc'!A0,1,33.33", "'@SUM(A1),1,33.33", "plain,1,33.33", "total,3,100.00"])
    }

    func testAllowPartialAsksForAPartialAnswerAndSaysItIsPartial() throws {
        let node = try CLIScriptedNode { request, _ in
            guard request.target.contains("allow_partial=true") else {
                return (503, #"{"error":"503 of 4096 partitions have no answering replica (failed nodes: n3); add allow_partial=true to accept a partial answer","#
                        + #""missing_partitions":[7,10],"coverage":{"partial":true,"partitions":{"total":4096,"answered":3593},"#
                        + #""nodes":{"queried":3,"answered":2,"failed":["n3"]}}}"#)
            }
            return (200, #"{"counts":{"3":120},"record_count":120,"grouped_key_count":1,"grouped_by":"python$version_info$0","#
                    + #""error_count":0,"coverage":{"partial":true,"partitions":{"total":4096,"answered":3593},"#
                    + #""nodes":{"queried":3,"answered":2,"failed":["n3"]}}}"#)
        }
        defer { node.close() }
        let arguments = ["query", "count", "--group-by", "python$version_info$0", "--http", node.http]

        let refused = try runEspyMetrics(arguments)
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("503 of 4096 partitions have no answering replica"), refused.output)
        XCTAssertTrue(refused.output.contains("run again with --allow-partial"), refused.output)

        let partial = try runEspyMetrics(arguments + ["--allow-partial"])
        XCTAssertEqual(partial.status, 0, partial.output)
        XCTAssertTrue(node.requests.last!.target.hasSuffix("&allow_partial=true"), node.requests.last!.target)
        XCTAssertTrue(partial.output.contains("partial answer: 3593 of 4096 partitions answered (failed nodes: n3)"), partial.output)
        XCTAssertNotNil(partial.output.range(of: #"\ntotal +120 +100\.00%\n"#, options: .regularExpression), partial.output)
    }

    func testALimitOutOfRangeIsRefusedWithTheRange() throws {
        for limit in ["-1", "100000000000000000000", "ten"] {
            let result = try runEspyMetrics(["query", "count", "--limit", limit])
            XCTAssertEqual(result.status, 64, result.output)
            XCTAssertTrue(result.output.contains("must be a whole number from 0 to \(Int.max)"), result.output)
            XCTAssertFalse(result.output.contains("Missing value"), result.output)
        }
    }
}
