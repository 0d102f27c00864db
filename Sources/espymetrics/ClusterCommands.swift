import ArgumentParser
import EspyHTTP
import Foundation

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a failed node from the cluster for good (POST /v1/cluster/remove).",
        discussion: """
            Like Serf's force-leave. The node must not be alive. Its partitions move to the \
            remaining members at once (instead of after [cluster] failure_timeout_ms), and they \
            rebuild them from the other replicas. To take out a node that is running, run \
            'espymetrics leave' against it instead: it hands its data off first.

            \(NodeConnection.operatorTokenHelp)

            Examples:
              espymetrics remove node-17
              espymetrics remove node-17 --http 10.0.0.5:8888
            """)

    @Argument(help: "The name of the member to remove.")
    var node: String

    @Option(help: ArgumentHelp("Node to ask (any live member).", valueName: "host:port"))
    var http: String = "127.0.0.1:8888"

    func run() throws {
        let (_, answer) = try askNode(http, .post, "/v1/cluster/remove?node=" + HTTPRequest.percentEncoded(node))
        print("removed \(answer["removed"] as? String ?? node); partition map \(answer["view_digest"] as? String ?? "?")")
    }
}

struct LeaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave",
        abstract: "Make a node leave the cluster gracefully (POST /v1/cluster/leave), as SIGTERM does.",
        discussion: """
            The node tells the cluster it is going, hands each of its partitions to the new \
            owners (progress in its log and in 'espymetrics partitions'), and stops once all \
            are confirmed, or after [repair] leave_timeout_ms. To stop a node for a restart \
            without moving data, send it SIGINT instead.

            \(NodeConnection.operatorTokenHelp)

            Examples:
              espymetrics leave --http 10.0.0.7:8888
            """)

    @Option(help: ArgumentHelp("The node that should leave.", valueName: "host:port"))
    var http: String = "127.0.0.1:8888"

    func run() throws {
        let (_, answer) = try askNode(http, .post, "/v1/cluster/leave")
        print(LeaveReport(answer: answer, http: http).text)
    }
}

/// What a leave will do, as the node says it will (`Node.handoffPlan`): partitions are handed
/// off only when the node holds records and another data-holding member is alive to take
/// them; otherwise it stops at once.
struct LeaveReport {
    let node: String
    let partitionsHeld: Int
    let successors: Int
    let http: String

    init(answer: [String: Any], http: String) {
        node = answer["leaving"] as? String ?? http
        partitionsHeld = answer["partitions_held"] as? Int ?? 0
        successors = answer["successors"] as? Int ?? 0
        self.http = http
    }

    var text: String {
        if partitionsHeld == 0 { return "\(node) is leaving; it holds no records, so there is nothing to hand off and it stops now" }
        if successors == 0 {
            return "\(node) is leaving; no other member is alive to take its \(partitionsHeld) partitions, so there is nothing "
                + "to hand off and it stops now (its data stays in its data directory)"
        }
        return "\(node) is leaving; handing off \(partitionsHeld) partitions to \(successors) other "
            + (successors == 1 ? "member" : "members") + ", then it stops (progress: espymetrics partitions --http \(http))"
    }
}

struct PartitionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partitions",
        abstract: "Show partition placement and repair state as a node sees it (GET /v1/cluster/partitions).",
        discussion: """
            Partitions fully replicated and under-replicated, this node's handoff (partitions \
            catching up and being handed off, with progress), hints waiting per peer, and the \
            partitions each member owns. Nodes that agree on placement show the same view digest.

            Examples:
              espymetrics partitions
              espymetrics partitions --http 10.0.0.5:8888 --format json
            """)

    @Option(help: ArgumentHelp("Node to ask.", valueName: "host:port"))
    var http: String = "127.0.0.1:8888"

    @Option(help: "Output format: table or json (the node's answer).")
    var format: TableOrJSON = .table

    func run() throws {
        let (response, answer) = try askNode(http, .get, "/v1/cluster/partitions")
        if format == .json {
            print(response.bodyText, terminator: response.bodyText.hasSuffix("\n") ? "" : "\n")
            return
        }
        print(PartitionsReport(answer: answer).render(), terminator: "")
    }
}

/// The human form of `/v1/cluster/partitions`.
struct PartitionsReport {
    let answer: [String: Any]

    func render() -> String {
        func int(_ object: [String: Any]?, _ key: String) -> Int { object?[key] as? Int ?? 0 }
        let handoff = answer["handoff"] as? [String: Any]
        let catching = handoff?["catching_up"] as? [String: Any]
        let handing = handoff?["handing_off"] as? [String: Any]
        var out = "node \(answer["node"] as? String ?? "?")  view \(answer["view_digest"] as? String ?? "?")"
            + "  partitions \(int(answer, "partitions"))  replicas/dc \(int(answer, "replicas_per_dc"))\n"
        out += "fully replicated  \(int(answer, "fully_replicated"))\n"
        out += "under-replicated  \(int(answer, "under_replicated"))\n"
        out += "catching up       \(int(catching, "partitions"))  (\(int(catching, "done")) of \(int(catching, "of")) done)\n"
        out += "handing off       \(int(handing, "partitions"))  (\(int(handing, "done")) of \(int(handing, "of")) done)"
            + ((handoff?["leaving"] as? Bool ?? false) ? "  — leaving" : "") + "\n"
        out += "records moved     \(int(handoff, "records_pulled")) pulled, \(int(handoff, "records_pushed")) pushed\n"
        let hints = (answer["pending_hints"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
        out += "pending hints     " + (hints.isEmpty ? "none" : hints.keys.sorted().map { "\($0) \(hints[$0]!)" }.joined(separator: ", ")) + "\n"
        let owned = (answer["owned"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
        out += "owned partitions\n"
        let width = owned.keys.map(\.count).max() ?? 0
        for node in owned.keys.sorted() { out += "  \(node.rightPadded(to: width))  \(owned[node]!)\n" }
        return out
    }
}
