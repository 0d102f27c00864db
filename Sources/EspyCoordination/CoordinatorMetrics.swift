import Metrics

/// What the coordinator counts: how much fan-out a node does and how often it has to work
/// around failures. Handles are made once; increments are atomic.
struct CoordinatorMetrics {
    /// Query sub-requests sent to peers (this node's own shard is not counted).
    let subRequests = Counter(label: "espymetrics_cluster_subrequests_total")
    /// Sub-requests whose partitions had to move to another replica after a failure.
    let replans = Counter(label: "espymetrics_cluster_replans_total")
    /// Count answers that left partitions out (served with allow_partial, or refused with 503).
    let partialAnswers = Counter(label: "espymetrics_cluster_partial_answers_total")
    /// Replica writes that failed (the record may still have reached its quorum elsewhere).
    let replicaWriteFailures = Counter(label: "espymetrics_cluster_replica_write_failures_total")
    /// Records that missed their write quorum (the client was told to retry them).
    let quorumFailures = Counter(label: "espymetrics_cluster_quorum_failures_total")
    /// Records kept as hints for replicas that missed them.
    let hintsKept = Counter(label: "espymetrics_cluster_hints_kept_total")
    /// Hinted records delivered to their replica.
    let hintsDelivered = Counter(label: "espymetrics_cluster_hints_delivered_total")
    /// Hints dropped because their replica said it no longer holds their partitions.
    let hintsDropped = Counter(label: "espymetrics_cluster_hints_dropped_total")
    /// Partition maps rebuilt because ownership changed (coalesced: a burst of joins is one).
    let placementRebuilds = Counter(label: "espymetrics_cluster_placement_rebuilds_total")
    /// Sub-requests sent again to another replica because the first had not answered in time.
    let hedges = Counter(label: "espymetrics_cluster_hedged_subrequests_total")
    /// Times this node found it may have missed writes everywhere (its loop stood still, or it
    /// had to refute being declared dead) and went back to catching up.
    let markedBehind = Counter(label: "espymetrics_cluster_marked_behind_total")
    /// Writes to this node's own shard that failed (each makes its partitions catch up).
    let localWriteFailures = Counter(label: "espymetrics_cluster_local_write_failures_total")
    /// Queries read with `read_consistency = "verified"`.
    let verifiedReads = Counter(label: "espymetrics_cluster_verified_reads_total")
    /// Partitions whose replicas disagreed on a verified read, so one pulled from the others first.
    let readRepairs = Counter(label: "espymetrics_cluster_read_repairs_total")
}
