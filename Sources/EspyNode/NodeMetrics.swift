import EspyAPI
import EspyHTTP
import EspyHTTPServer
import Metrics
import Prometheus

/// The node's Prometheus registry and the metrics no single subsystem owns: HTTP requests by
/// route and status with latency histograms, and gauges read when `/metrics` is scraped.
public final class NodeMetrics {
    let registry: PrometheusCollectorRegistry
    private var requestCounters: [String: Metrics.Counter] = [:]
    private var requestTimers: [String: Metrics.Timer] = [:]
    private let connections: Metrics.Gauge
    private let storedRecords: Metrics.Gauge
    private let storeBytes: Metrics.Gauge

    /// Routes get their own label; anything else is "other", so scanners probing random paths
    /// cannot blow up the number of series.
    private static let knownRoutes = Set(V1API.routes + ["/metrics"])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        connections = Metrics.Gauge(label: "espymetrics_http_connections")
        storedRecords = Metrics.Gauge(label: "espymetrics_store_records")
        storeBytes = Metrics.Gauge(label: "espymetrics_store_size_bytes")
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
        let route = NodeMetrics.knownRoutes.contains(entry.path) ? entry.path : "other"
        let key = "\(route) \(entry.method) \(entry.status)"
        let counter = requestCounters[key] ?? {
            let counter = Metrics.Counter(label: "espymetrics_http_requests_total",
                                  dimensions: [("route", route), ("method", entry.method), ("status", String(entry.status))])
            requestCounters[key] = counter
            return counter
        }()
        counter.increment()
        let timer = requestTimers[route] ?? {
            let timer = Metrics.Timer(label: "espymetrics_http_request_duration_seconds", dimensions: [("route", route)])
            requestTimers[route] = timer
            return timer
        }()
        timer.recordMicroseconds(entry.durationMicroseconds)
    }

    /// The Prometheus text exposition, after refreshing the gauges that are read, not counted.
    func exposition(connectionCount: Int, recordCount: Int, storeSizeBytes: Int) -> [UInt8] {
        connections.record(connectionCount)
        storedRecords.record(recordCount)
        storeBytes.record(storeSizeBytes)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
