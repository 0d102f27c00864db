import ArgumentParser
import EspyHTTP
import Foundation

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask a node questions.",
        discussion: """
            Examples:
              espymetrics query count --group-by python.version_info.0
              espymetrics query count --group-by uname.system --http 10.0.0.5:8888 --format json
            """,
        subcommands: [CountCommand.self])
}

struct CountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count",
        abstract: "Count records grouped by a field path (GET /v1/count).",
        discussion: """
            Paths use $ or dots: python$version_info$0 is the major Python version, \
            uname.system the OS. The table shows each value's share of the records considered \
            and a total row; records lacking the path are counted as (missing).

            Examples:
              espymetrics query count --group-by python.version_info.0
              espymetrics query count --group-by uname.system --since 2026-11-01 --until 2026-12-01
              espymetrics query count --group-by python.implementation --limit 10000 --format csv
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    @Option(name: .customLong("group-by"), help: ArgumentHelp("Field path to group by.", valueName: "path"))
    var groupBy: String?

    @Option(help: "Count only the N most recent records.")
    var limit: Int?

    @Option(help: ArgumentHelp("Only records stored at or after this time (YYYY-MM-DD or RFC 3339).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only records stored before this time (YYYY-MM-DD or RFC 3339).", valueName: "time"))
    var until: String?

    @Option(help: "Output format: table, json (the node's answer) or csv.")
    var format: Format = .table

    @Option(help: ArgumentHelp("Node to ask.", valueName: "host:port"))
    var http: String = "127.0.0.1:8888"

    func run() throws {
        var parameters: [String] = []
        if let groupBy { parameters.append("group_by=" + HTTPRequest.percentEncoded(groupBy)) }
        if let limit { parameters.append("limit=\(limit)") }
        if let since { parameters.append("since=" + HTTPRequest.percentEncoded(since)) }
        if let until { parameters.append("until=" + HTTPRequest.percentEncoded(until)) }
        let target = "/v1/count" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
        let response: HTTPResponseParser.Response
        do {
            response = try NodeConnection(http: http).send(.get, target)
        } catch {
            printError("espymetrics: \(error)")
            throw ExitCode(1)
        }
        guard let answer = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
            printError("espymetrics: the node answered \(response.status) with a body that is not JSON")
            throw ExitCode(1)
        }
        guard response.status == 200 else {
            printError("espymetrics: \(answer["error"] as? String ?? "status \(response.status)")")
            throw ExitCode(1)
        }
        switch format {
        case .json: print(response.bodyText, terminator: response.bodyText.hasSuffix("\n") ? "" : "\n")
        case .table: print(CountTable(answer: answer).table(), terminator: "")
        case .csv: print(CountTable(answer: answer).csv(), terminator: "")
        }
    }
}
