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
            and a total row; records lacking the path are counted as (missing). A value that \
            could be taken for one of those rows, or that is empty, starts with a double quote or \
            holds a line break or another control character, is shown as a JSON string \
            ("total", "a\\nb"). CSV gives percent as a plain number and prefixes a value that \
            starts with =, +, - or @ with ' so that spreadsheets do not run it as a formula.

            When some partitions have no answering replica (nodes down), the node refuses with \
            503 rather than give low counts; --allow-partial accepts counts over the partitions \
            that answered, and says so on standard error.

            With several --group-by paths, each row is one combination of values. --where and \
            --where-not take PATH:VALUE (the value as the table shows it; (missing) for records \
            without the path): the same path given twice means either value, different paths \
            must all hold. --top N keeps the N largest rows and sums the rest as (other).

            Examples:
              espymetrics query count --group-by python.version_info.0
              espymetrics query count --group-by uname.system --since 2026-11-01 --until 2026-12-01
              espymetrics query count --group-by python.implementation --limit 10000 --format csv
              espymetrics query count --group-by python.version_info.0 --group-by uname.machine \\
                  --where uname.system:Linux --where-not python.version_info.0:2 --top 5
              espymetrics query count --group-by python.version --order version --format markdown
              espymetrics query count --group-by uname.system --allow-partial
              espymetrics query count --group-by uname.system --where uname.machine:arm64 --show-request
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv, markdown
    }

    enum Order: String, ExpressibleByArgument, CaseIterable {
        case count, key, version
    }

    @Option(name: .customLong("group-by"), help: ArgumentHelp("Field path to group by; repeat (up to 4) to group by the combination.",
                                                              valueName: "path"))
    var groupBy: [String] = []

    @Option(name: .customLong("where"), help: ArgumentHelp("Only records whose value at PATH is VALUE; repeatable.", valueName: "path:value"))
    var conditions: [String] = []

    @Option(name: .customLong("where-not"), help: ArgumentHelp("Leave out records whose value at PATH is VALUE; repeatable.",
                                                               valueName: "path:value"))
    var exclusions: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Only the N largest rows, plus (other) with the rest.", valueName: "n"))
    var top: Int?

    @Option(help: "Row order: count (largest first), key, or version (3.9 before 3.10).")
    var order: Order?

    @Option(help: ArgumentHelp("Also count each row's distinct values of PATH (hosts, users), exactly up to 4,096, within 1 % beyond.",
                               valueName: "path"))
    var distinct: String?

    @Option(help: "Rows per day, week (from Monday) or month of the time records were stored, oldest first.")
    var bucket: Bucket?

    enum Bucket: String, ExpressibleByArgument, CaseIterable {
        case day, week, month
    }

    // Unconditional: "-1" is a value to refuse with a reason, not an unknown flag.
    @Option(parsing: .unconditional, help: ArgumentHelp("Count only the N most recent records.", valueName: "n"),
            transform: { try CountCommand.parseLimit($0) })
    var limit: Int?

    @Option(help: ArgumentHelp("Only records stored at or after this time (YYYY-MM-DD or RFC 3339).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only records stored before this time (YYYY-MM-DD or RFC 3339).", valueName: "time"))
    var until: String?

    @Option(help: "Output format: table, json (the node's answer), csv or markdown.")
    var format: Format = .table

    @Flag(name: .customLong("show-request"), help: "Print the HTTP request this would send, and send nothing.")
    var showRequest = false

    @Flag(name: .customLong("allow-partial"),
          help: "Accept counts over the partitions that answered when some have no answering replica.")
    var allowPartial = false

    @Option(name: .customLong("read-consistency"),
            help: "one: one replica per partition; verified: compare replicas' digests first (exact right after a write). Default: the node's.")
    var readConsistency: ReadConsistency?

    enum ReadConsistency: String, ExpressibleByArgument, CaseIterable {
        case one, verified
    }

    @Option(help: ArgumentHelp("Node to ask.", valueName: "host:port"))
    var http: String = "127.0.0.1:8888"

    /// `--limit`: a count of records, so from 0 to the largest count there can be.
    static func parseLimit(_ text: String) throws -> Int {
        guard let limit = Int(text), limit >= 0 else {
            throw ValidationError("must be a whole number from 0 to \(Int.max)")
        }
        return limit
    }

    var target: String {
        var parameters = groupBy.map { "group_by=" + HTTPRequest.percentEncoded($0) }
        parameters += conditions.map { "where=" + HTTPRequest.percentEncoded($0) }
        parameters += exclusions.map { "where_not=" + HTTPRequest.percentEncoded($0) }
        if let bucket { parameters.append("bucket=\(bucket.rawValue)") }
        if let distinct { parameters.append("distinct=" + HTTPRequest.percentEncoded(distinct)) }
        if let top { parameters.append("top=\(top)") }
        if let order { parameters.append("order=\(order.rawValue)") }
        if let limit { parameters.append("limit=\(limit)") }
        if let since { parameters.append("since=" + HTTPRequest.percentEncoded(since)) }
        if let until { parameters.append("until=" + HTTPRequest.percentEncoded(until)) }
        if allowPartial { parameters.append("allow_partial=true") }
        if let readConsistency { parameters.append("read_consistency=\(readConsistency.rawValue)") }
        return "/v1/count" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
    }

    func run() throws {
        if showRequest {
            return print("GET http://\(http)\(target)")
        }
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
            // The node's message speaks of its HTTP parameter; say the flag that sets it.
            if answer["missing_partitions"] != nil {
                printError("espymetrics: run again with --allow-partial to accept counts over the partitions that answered")
            }
            throw ExitCode(1)
        }
        if let warning = CountCommand.partialWarning(answer) { printError(warning) }
        switch format {
        case .json: print(response.bodyText, terminator: response.bodyText.hasSuffix("\n") ? "" : "\n")
        case .table: print(table(answer).table(), terminator: "")
        case .csv: print(table(answer).csv(), terminator: "")
        case .markdown: print(table(answer).markdown(), terminator: "")
        }
    }

    private func table(_ answer: [String: Any]) -> CountTable {
        CountTable(answer: answer, paths: groupBy, fromRows: top != nil || order != nil || bucket != nil)
    }

    /// Said on standard error, so that a table, CSV or JSON on standard output stays clean.
    static func partialWarning(_ answer: [String: Any]) -> String? {
        guard let coverage = answer["coverage"] as? [String: Any], coverage["partial"] as? Bool == true else { return nil }
        let partitions = coverage["partitions"] as? [String: Any]
        let failed = (coverage["nodes"] as? [String: Any])?["failed"] as? [String] ?? []
        return "espymetrics: partial answer: \(partitions?["answered"] as? Int ?? 0) of \(partitions?["total"] as? Int ?? 0) "
            + "partitions answered" + (failed.isEmpty ? "" : " (failed nodes: \(failed.joined(separator: ", ")))")
            + "; counts cover only those and may be low"
    }
}
