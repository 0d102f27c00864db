import ArgumentParser
import Foundation
import EspyNode
import EspyStorage
import Logging
import Metrics
import Prometheus

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a node: HTTP API on its SQLite shard.",
        discussion: """
            Settings come from embedded defaults, then the TOML file given with --config (see \
            cluster.toml.example for every key), then these flags.

            The cluster keyring, which signs node-to-node requests, is [cluster] keys in the \
            file, or the environment variable ESPYMETRICS_CLUSTER_KEYS (keys separated by \
            commas, the first signs), which wins; never a flag, which every user could read \
            in ps. 'espymetrics keygen' prints a key. Operator tokens ([http] operator_tokens, \
            or ESPYMETRICS_OPERATOR_TOKENS) guard remove, leave and imports that keep \
            server_time; without any, those are taken from the node's own host only.

            SIGINT stops the node and keeps its data: no new connections, in-flight requests \
            finish, queued writes commit, the shard is closed. The node keeps its partitions and \
            the others route around it until it is back: the stop for restarts and upgrades.

            SIGTERM makes the node leave the cluster for good, as 'espymetrics leave' does: it \
            hands every partition to its new owners first, then stops as for SIGINT (a node with \
            no other member to hand off to stops at once). Both exit 0; a second signal exits at \
            once with status 1. See docs/operations.md, "Stop".

            Exit status: 0 after a signal, 1 when the node cannot start (e.g. an address in \
            use), 2 for a configuration error, named by its key: a bad setting, a data directory \
            created with another cluster.partitions, or a cluster that uses another partition count.

            Examples:
              espymetrics serve
              espymetrics serve --http 0.0.0.0:8888 --data-dir /var/lib/espymetrics
              espymetrics serve --config /etc/espymetrics/cluster.toml --name node-7
              espymetrics serve --name n2 --datacenter dc2 --http 127.0.0.2:8888 --gossip 127.0.0.2:7946 --join 127.0.0.1:7946
            """)

    @Option(help: ArgumentHelp("TOML configuration file.", valueName: "file"))
    var config: String?

    @Option(help: "Node name (default: the host name).")
    var name: String?

    @Option(help: "Datacenter this node runs in (default: dc1).")
    var datacenter: String?

    @Option(help: ArgumentHelp("HTTP listen address (default: 127.0.0.1:8888).", valueName: "host:port"))
    var http: String?

    @Option(help: ArgumentHelp("Gossip listen address, UDP and TCP (default: 127.0.0.1:7946).", valueName: "host:port"))
    var gossip: String?

    @Option(help: ArgumentHelp("Gossip seed to join; repeatable.", valueName: "host:port"))
    var join: [String] = []

    @Option(help: ArgumentHelp("Gossip encryption key, base64 as `serf keygen` prints it; repeatable (the first encrypts).",
                               valueName: "key"))
    var encrypt: [String] = []

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Directory of the node's shard (default: ./data).", valueName: "dir"))
    var dataDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default: info).")
    var logLevel: String?

    func run() throws {
        let nodeConfig: NodeConfig
        do {
            nodeConfig = try resolvedConfig()
        } catch {
            printError("espymetrics: configuration error: \(error)")
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var handler = NodeLogHandler(label: label)
            handler.logLevel = nodeConfig.node.logLevel
            return handler
        }
        var logger = Logger(label: "espymetrics")
        logger.logLevel = nodeConfig.node.logLevel
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(NodeMetrics.factory(registry: registry))
        let node: Node
        do {
            node = try Node(config: nodeConfig, logger: logger, metricsRegistry: registry)
        } catch let error as ConfigError {
            printError("espymetrics: configuration error: \(error)")
            throw ExitCode(2)
        } catch let error as StorageError where error.configurationKey != nil {
            printError("espymetrics: configuration error: \(error.configurationKey!): \(error.message)")
            throw ExitCode(2)
        } catch {
            printError("espymetrics: cannot start: \(error)")
            throw ExitCode(1)
        }
        let status = node.run()
        if status != 0 { throw ExitCode(status) }
    }

    static let clusterKeysVariable = "ESPYMETRICS_CLUSTER_KEYS"
    static let operatorTokensVariable = "ESPYMETRICS_OPERATOR_TOKENS"

    private func resolvedConfig() throws -> NodeConfig {
        var config = NodeConfig()
        if let path = self.config {
            guard let text = readTextFile(path) else {
                throw ConfigError(key: "--config", "cannot read '\(path)'")
            }
            try config.apply(toml: text)
        }
        // A bad flag names the key it stands for, as the same value in the file would.
        if let name { config.node.name = name }
        if let datacenter { config.node.datacenter = datacenter }
        if let http { config.http.server.address = try ConfigValue.address(http, key: "http.address") }
        if let gossip { config.gossip.address = try ConfigValue.address(gossip, key: "gossip.address") }
        if !join.isEmpty { config.gossip.seeds = try ConfigValue.addresses(join, key: "gossip.join") }
        if !encrypt.isEmpty { config.gossip.keyring = try ConfigValue.keyring(encrypt, key: "gossip.encrypt_keys") }
        if let tokens = ProcessInfo.processInfo.environment[Self.operatorTokensVariable] {
            config.http.operatorTokens = try ConfigValue.operatorTokens(tokens.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                                                                        key: Self.operatorTokensVariable)
        }
        if let keys = ProcessInfo.processInfo.environment[Self.clusterKeysVariable] {
            config.cluster.keys = try ConfigValue.clusterKeys(keys.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                                                              key: Self.clusterKeysVariable)
        }
        if let dataDirectory { config.node.dataDirectory = dataDirectory }
        if let logLevel { config.node.logLevel = try ConfigValue.logLevel(logLevel, key: "--log-level") }
        try config.validate()
        return config
    }
}
