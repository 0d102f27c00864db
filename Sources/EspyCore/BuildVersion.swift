/// The version of this build of EspyMetrics, one string for every place that shows it
/// (`espymetrics --version`, `/v1/health`, the gossip tags), so operators can spot a cluster
/// running mixed versions. Raise it with every release.
public enum BuildVersion {
    public static let current = "0.1.0"
}
