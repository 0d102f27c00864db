import EspyAPI
import EspyHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `GET /metrics`: the node's Prometheus exposition, with the gauges read at scrape time.
extension Node {
    func serveMetrics(_ request: HTTPRequest, _ reply: (HTTPResponse) -> Void) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        let connections = (server?.connectionCount ?? 0) + (internalServer?.connectionCount ?? 0)
        let body = metrics.exposition(connectionCount: connections, recordCount: shard?.recordCount ?? 0,
                                      storeSizeBytes: storeSizeBytes(), gossip: gossip?.metrics,
                                      gossipPacketsSent: gossip?.packetsSent ?? 0, cluster: clusterGauges())
        reply(HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: .bytes(body)))
    }

    func clusterGauges() -> ClusterGauges? {
        guard let coordinator, let repairer, let shard else { return nil }
        return ClusterGauges(fullyReplicated: coordinator.fullyReplicatedCount,
                             underReplicated: coordinator.partitionSummary.underReplicated,
                             catchingUp: coordinator.catchingUp.count, handingOff: repairer.handoffPending,
                             pendingHints: shard.hintCounts.values.reduce(0, +), ready: coordinator.readiness.isReady)
    }

    /// The shard file and its WAL; a stat per scrape, cheap enough for the loop.
    func storeSizeBytes() -> Int {
        [config.node.databasePath, config.node.databasePath + "-wal"].reduce(0) { total, path in
            var info = stat()
            return total + (stat(path, &info) == 0 ? Int(info.st_size) : 0)
        }
    }
}
