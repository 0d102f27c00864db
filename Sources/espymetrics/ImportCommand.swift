import ArgumentParser
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bulk-load NDJSON records into a node (POST /v1/import).",
        discussion: """
            Reads one JSON object per line (e.g. the original server's metrics_data.jsonl) and \
            sends them in batches. Records the node rejects are written, as they were, to the \
            reject file, and listed with their line numbers. Re-running the same import is safe: \
            records already stored are recognised by their content and not stored twice. Shows \
            progress when standard error is a terminal. Exits 1 if anything was rejected.

            Records the node could not store (a 503: too few replicas reachable) are retried \
            three times, after 0.5, 1 and 2 s; only those records, as the node names them, so \
            what was acknowledged counts as imported. Records still not stored go to the reject \
            file with the node's reason, and importing that file again later retries them.

            Examples:
              espymetrics import metrics_data.jsonl
              espymetrics import profiles.ndjson --http 10.0.0.5:8888 --batch 5000
              espymetrics import --keep-server-time old-server/metrics_data.jsonl   # migrate, history kept
              zcat old.jsonl.gz | espymetrics import - --rejects bad.ndjson
            """)

    @Argument(help: ArgumentHelp("NDJSON file to import, or - for standard input.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("Node to send to.", valueName: "host:port"))
    var http: String = "127.0.0.1:8888"

    @Option(help: "Records per request.")
    var batch: Int = 5000

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 2

    @Option(help: ArgumentHelp("Where rejected records go (default: FILE.rejects.ndjson, or rejects.ndjson for stdin).", valueName: "path"))
    var rejects: String?

    @Flag(help: ArgumentHelp("Keep each record's own server_time (migrating from the original server or another node's export).",
                             discussion: "Accepts the original server's YYYY-MM-DD HH:MM:SS.ffffff (UTC) and RFC 3339. The "
                                 + "record id then covers the time, so events differing only in time stay distinct and "
                                 + "importing the same file again stores nothing twice. A record without server_time is rejected. "
                                 + NodeConnection.operatorTokenHelp))
    var keepServerTime = false

    func validate() throws {
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 100000") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
    }

    func run() throws {
        let rejectPath = rejects ?? (file == "-" ? "rejects.ndjson" : file + ".rejects.ndjson")
        let summary: BulkImporter.Summary
        do {
            let importer = BulkImporter(connection: try NodeConnection(http: http), reader: try LineBatchReader(path: file),
                                        batchSize: batch, concurrency: concurrency, rejects: RejectFile(path: rejectPath),
                                        keepServerTime: keepServerTime)
            summary = importer.run()
        } catch {
            printError("espymetrics: \(error)")
            throw ExitCode(1)
        }
        let rate = summary.seconds > 0 ? Int(Double(summary.accepted) / summary.seconds) : summary.accepted
        print("imported \(grouped(summary.accepted)) records (\(grouped(summary.stored)) new, "
              + "\(grouped(summary.duplicates)) already stored) in \(String(format: "%.1f", summary.seconds)) s, \(grouped(rate)) records/s")
        guard summary.rejected.isEmpty else {
            print("rejected \(grouped(summary.rejected.count)) records, written to \(rejectPath)"
                  + (summary.notStored > 0 ? " (\(grouped(summary.notStored)) of them not stored by the node; "
                     + "importing the reject file again retries them)" : ""))
            for (line, error) in summary.rejected.sorted(by: { $0.line < $1.line }).prefix(10) {
                print("  line \(line): \(error)")
            }
            if summary.rejected.count > 10 { print("  … and \(summary.rejected.count - 10) more") }
            throw ExitCode(1)
        }
    }
}
