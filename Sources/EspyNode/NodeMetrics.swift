import EspyAPI
import EspyHTTP
import EspyHTTPServer
import EspyGossip
import Metrics
import Prometheus

/// The node's Prometheus registry and the metrics no single subsystem owns: HTTP requests by
/// route and status with latency histograms, and gauges read when `/metrics` is scraped.
public final class NodeMetrics {
    let registry: PrometheusCollectorRegistry
    /// The series of each known route, found by path with one lookup per request.
    private var routeSeries: [String: RouteSeries] = [:]
    private let otherRouteSeries = RouteSeries(route: "other")
    private let connections: Metrics.Gauge
    private let storedRecords: Metrics.Gauge
    private let storeBytes: Metrics.Gauge
    private var gossipGauges: [String: Metrics.Gauge] = [:]
    private var partitionGauges: [String: Metrics.Gauge] = [:]
    private let pendingHints: Metrics.Gauge
    private let ready: Metrics.Gauge
    private var gossipCounters: [String: (counter: Metrics.Counter, last: UInt64)] = [:]

    /// Routes get their own label; anything else is "other", so scanners probing random paths
    /// cannot blow up the number of series. The routers' own tables, set once they are built.
    var knownRoutes: Set<String> = [] {
        didSet { routeSeries = Dictionary(uniqueKeysWithValues: knownRoutes.map { ($0, RouteSeries(route: $0)) }) }
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        connections = Metrics.Gauge(label: "espymetrics_http_connections")
        storedRecords = Metrics.Gauge(label: "espymetrics_store_records")
        storeBytes = Metrics.Gauge(label: "espymetrics_store_size_bytes")
        pendingHints = Metrics.Gauge(label: "espymetrics_cluster_hints_pending")
        ready = Metrics.Gauge(label: "espymetrics_node_ready")
    }

    /// Buckets from 100 µs to 10 s: health checks sit at the bottom, scans of big shards at the top.
    public static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
        ]
        return factory
    }

    func observe(_ entry: AccessLogEntry) {
        let series = routeSeries[entry.path] ?? otherRouteSeries
        series.requests(method: entry.method, status: entry.status).increment()
        series.duration.recordMicroseconds(entry.durationMicroseconds)
    }

    /// The Prometheus text exposition, after refreshing the gauges that are read, not counted.
    func exposition(connectionCount: Int, recordCount: Int, storeSizeBytes: Int, gossip: GossipMetrics?,
                    gossipPacketsSent: UInt64, cluster: ClusterGauges?) -> [UInt8] {
        connections.record(connectionCount)
        storedRecords.record(recordCount)
        storeBytes.record(storeSizeBytes)
        if let gossip { record(gossip, packetsSent: gossipPacketsSent) }
        if let cluster { record(cluster) }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return MetricHelp.withHelpLines(buffer)
    }

    private func record(_ cluster: ClusterGauges) {
        for (state, count) in [("fully_replicated", cluster.fullyReplicated), ("under_replicated", cluster.underReplicated),
                               ("catching_up", cluster.catchingUp), ("handing_off", cluster.handingOff)] {
            let gauge = partitionGauges[state] ?? Metrics.Gauge(label: "espymetrics_cluster_partitions", dimensions: [("state", state)])
            partitionGauges[state] = gauge
            gauge.record(count)
        }
        pendingHints.record(cluster.pendingHints)
        ready.record(cluster.ready ? 1 : 0)
    }

    /// The gossip core keeps plain running totals; Prometheus counters only move forward, so
    /// each scrape adds what changed since the last one.
    private func record(_ gossip: GossipMetrics, packetsSent: UInt64) {
        for (status, count) in [("alive", gossip.membersAlive), ("suspect", gossip.membersSuspect),
                                ("dead", gossip.membersDead), ("left", gossip.membersLeft)] {
            let gauge = gossipGauges[status] ?? Metrics.Gauge(label: "espymetrics_gossip_members", dimensions: [("status", status)])
            gossipGauges[status] = gauge
            gauge.record(count)
        }
        let totals: [(String, UInt64)] = [
            ("espymetrics_gossip_probes_total", gossip.probesSent),
            ("espymetrics_gossip_probe_failures_total", gossip.probeFailures),
            ("espymetrics_gossip_probes_judged_late_total", gossip.probesJudgedLate),
            ("espymetrics_gossip_suspicions_total", gossip.suspicionsRaised),
            ("espymetrics_gossip_refutations_total", gossip.refutations),
            ("espymetrics_gossip_packets_received_total", gossip.packetsReceived),
            ("espymetrics_gossip_packets_sent_total", packetsSent),
            ("espymetrics_gossip_decode_errors_total", gossip.decodeErrors),
            ("espymetrics_gossip_push_pulls_total", gossip.pushPullsStarted),
        ]
        for (name, value) in totals {
            let entry = gossipCounters[name] ?? (Metrics.Counter(label: name), 0)
            if value > entry.last { entry.counter.increment(by: Int64(value - entry.last)) }
            gossipCounters[name] = (entry.counter, max(value, entry.last))
        }
    }
}

/// What `/v1/cluster/partitions` and `/v1/ready` say, as gauges an alert can watch.
struct ClusterGauges {
    var fullyReplicated: Int
    var underReplicated: Int
    var catchingUp: Int
    var handingOff: Int
    var pendingHints: Int
    var ready: Bool
}

/// One route's request series: its latency histogram, and a request counter per method and
/// status seen, of which a route has a handful, so a scan finds one faster than hashing would.
private final class RouteSeries {
    let route: String
    /// Made on the first request, so that /metrics lists only the routes that were asked.
    private(set) lazy var duration = Metrics.Timer(label: "espymetrics_http_request_duration_seconds", dimensions: [("route", route)])
    private var counters: [(method: String, status: Int, counter: Metrics.Counter)] = []

    init(route: String) { self.route = route }

    func requests(method: String, status: Int) -> Metrics.Counter {
        if let known = counters.first(where: { $0.status == status && $0.method == method }) { return known.counter }
        let counter = Metrics.Counter(label: "espymetrics_http_requests_total",
                                      dimensions: [("route", route), ("method", method), ("status", String(status))])
        counters.append((method, status, counter))
        return counter
    }
}
