import ArgumentParser
import EspyCore

@main
struct EspyMetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "espymetrics",
        abstract: "Clustered analytics of how Python is used across an organisation.",
        discussion: """
            Python processes report their environment (version, implementation, OS, distro, \
            architecture, OpenSSL/SQLite versions) to a node; people and services ask any node \
            group-by questions such as "how many records per major Python version".

            Examples:
              espymetrics serve                                   # a node on 127.0.0.1:8888, data in ./data
              espymetrics import metrics_data.jsonl               # bulk-load NDJSON records
              espymetrics query count --group-by python.version_info.0
              espymetrics <command> --help                        # details and more examples
              espymetrics --version                               # this build's version
            """,
        version: BuildVersion.current,
        subcommands: [ServeCommand.self, ImportCommand.self, QueryCommand.self, MembersCommand.self,
                      PartitionsCommand.self, LeaveCommand.self, RemoveCommand.self, KeygenCommand.self])

    /// A peer that resets a connection turns the next write to it into SIGPIPE, whose default
    /// action ends the process; ignored, the write fails with EPIPE and only that connection
    /// closes. A process-wide choice, so it is made here and not by a library.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        main(nil)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
