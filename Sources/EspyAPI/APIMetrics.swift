import Metrics

/// What the API counts about ingest. Handles are made once: the metrics backend takes a lock
/// to look a metric up, and increments on these handles are atomic.
struct APIMetrics {
    let recordsStored = Counter(label: "espymetrics_records_stored_total")
    let recordsDuplicate = Counter(label: "espymetrics_records_duplicate_total")
    let recordsRejected = Counter(label: "espymetrics_records_rejected_total")
    let storageFailures = Counter(label: "espymetrics_storage_failures_total")

    func recordWrite(stored: Int, duplicates: Int) {
        if stored > 0 { recordsStored.increment(by: stored) }
        if duplicates > 0 { recordsDuplicate.increment(by: duplicates) }
    }
}
