import ArgumentParser
import EspyHTTP
import Foundation

struct MembersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members",
        abstract: "Show the cluster's members as a node sees them (GET /v1/cluster/members).",
        discussion: """
            The table is grouped by datacenter, with the member's status (alive, suspect, dead, \
            left), gossip address, HTTP address, incarnation and when its status last changed.

            Examples:
              espymetrics members
              espymetrics members --http 10.0.0.5:8888 --format json
            """)

    @Option(help: ArgumentHelp("Node to ask.", valueName: "host:port"))
    var http: String = "127.0.0.1:8888"

    @Option(help: "Output format: table or json (the node's answer).")
    var format: TableOrJSON = .table

    func run() throws {
        let (response, answer) = try askNode(http, .get, "/v1/cluster/members")
        if format == .json {
            print(response.bodyText, terminator: response.bodyText.hasSuffix("\n") ? "" : "\n")
            return
        }
        print(MembersTable(answer: answer).render(), terminator: "")
    }
}

/// Members grouped by datacenter, one aligned table each, with a count line per datacenter.
struct MembersTable {
    let selfName: String
    let members: [[String: Any]]

    init(answer: [String: Any]) {
        selfName = answer["self"] as? String ?? ""
        members = answer["members"] as? [[String: Any]] ?? []
    }

    func render() -> String {
        let byDatacenter = Dictionary(grouping: members) { $0["datacenter"] as? String ?? "" }
        var out = ""
        for datacenter in byDatacenter.keys.sorted() {
            let rows = byDatacenter[datacenter]!.sorted { ($0["name"] as? String ?? "") < ($1["name"] as? String ?? "") }
            let statuses = Dictionary(grouping: rows) { $0["status"] as? String ?? "" }.mapValues(\.count)
            let summary = statuses.keys.sorted().map { "\(statuses[$0]!) \($0)" }.joined(separator: ", ")
            out += "datacenter \(datacenter.isEmpty ? "(none)" : datacenter): \(summary)\n"
            let table = [["name", "status", "address", "http", "incarnation", "since"]] + rows.map { row in
                let name = row["name"] as? String ?? ""
                return [name == selfName ? name + " (self)" : name, row["status"] as? String ?? "", row["address"] as? String ?? "",
                        row["http"] as? String ?? "", String(row["incarnation"] as? Int ?? 0), row["since"] as? String ?? ""]
            }
            let widths = (0..<6).map { column in table.map { $0[column].count }.max() ?? 0 }
            for row in table {
                out += "  " + row.enumerated().map { $0.element.rightPadded(to: widths[$0.offset]) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces) + "\n"
            }
        }
        return out
    }
}
