/// `# HELP` text for every metric family the node exposes. swift-metrics has no place for it,
/// so it is added to the exposition here; `docs/operations.md` describes the same metrics.
enum MetricHelp {
    static let text: [String: String] = [
        "espymetrics_cluster_hedged_subrequests_total": "sub-requests also sent to other replicas because the first was slower than its peer's usual (at most 5 % of sub-requests; a hedge of a count read from rollups costs 50)",
        "espymetrics_cluster_hints_pending": "records this node keeps as hints for replicas that missed them, not yet replayed (rising: a replica has been down or refusing writes for a while)",
        "espymetrics_cluster_partitions": "partitions by state as this node sees them: fully_replicated (every replica alive and caught up), under_replicated (some replica not alive), catching_up (replicas here still being reconciled before reads are served for them: after a start, for partitions gained, after writes may have been missed), handing_off (no longer owned here, not yet confirmed by the new owners)",
        "espymetrics_cluster_hints_delivered_total": "hinted records delivered to the replica that missed them",
        "espymetrics_cluster_hints_dropped_total": "hinted records dropped because their replica no longer holds their partitions",
        "espymetrics_cluster_hints_kept_total": "records kept as hints for replicas that missed them",
        "espymetrics_cluster_local_write_failures_total": "writes to this node's own shard that failed (a full or failing disk); their partitions catch up before they are read here",
        "espymetrics_cluster_marked_behind_total": "times this node found it may have missed writes everywhere (its loop stood still, or it refuted being declared dead) and went back to catching up",
        "espymetrics_cluster_partial_answers_total": "count answers that left partitions out (refused with 503, or served with allow_partial)",
        "espymetrics_cluster_placement_rebuilds_total": "partition maps rebuilt because ownership changed (a burst of joins or leaves is one)",
        "espymetrics_cluster_quorum_failures_total": "records that missed their write quorum (the client was told to retry them)",
        "espymetrics_cluster_read_repairs_total": "partitions whose replicas disagreed on a verified read, so the fullest pulled from the others before it was read",
        "espymetrics_cluster_replans_total": "sub-requests moved to another replica after a peer failed or timed out",
        "espymetrics_cluster_replica_write_failures_total": "replica writes that failed (the record may still have reached its quorum)",
        "espymetrics_cluster_subrequests_total": "query sub-requests this node sent to peers (its own shard not counted)",
        "espymetrics_internal_requests_refused_total": "node-to-node requests refused: unsigned, signed with no key of this node, outside the time window, replayed, or (without a key) from an address that is no member's",
        "espymetrics_cluster_verified_reads_total": "queries read with read_consistency verified (replicas' digests compared first)",
        "espymetrics_gossip_decode_errors_total": "gossip packets that could not be decoded, whole or in part, each counted once (wrong encryption key, corruption, foreign traffic, a claim about a member without a name)",
        "espymetrics_gossip_members": "members this node knows, by alive, suspect, dead, left",
        "espymetrics_gossip_packets_received_total": "gossip UDP packets received",
        "espymetrics_gossip_packets_sent_total": "gossip UDP packets sent",
        "espymetrics_gossip_probe_failures_total": "probes that got no acknowledgement",
        "espymetrics_gossip_probes_judged_late_total": "probes left without a verdict because this node's loop reached them far past their end (it was held up); each raises its health score instead of suspecting the target. Rising: the node is overloaded",
        "espymetrics_gossip_probes_total": "failure-detector probes sent",
        "espymetrics_gossip_push_pulls_total": "full-state exchanges started (joins and periodic anti-entropy)",
        "espymetrics_gossip_refutations_total": "times this node refuted a suspicion of itself (a high rate means it is slow or its network drops packets)",
        "espymetrics_gossip_suspicions_total": "members this node started suspecting",
        "espymetrics_http_connections": "open client connections (peers' pooled connections included)",
        "espymetrics_http_request_duration_seconds": "time from a request's arrival to its last response byte queued, 100 µs–10 s buckets",
        "espymetrics_http_requests_total": "requests answered; unknown paths share route='other'",
        "espymetrics_node_ready": "1 when this node's answers can be complete (GET /v1/ready answers 200), else 0",
        "espymetrics_records_duplicate_total": "records received through this node's /v1 API, acknowledged, already stored (same content)",
        "espymetrics_records_rejected_total": "invalid records refused",
        "espymetrics_records_stored_total": "records received through this node's /v1 API, acknowledged, and new (counted once, not per replica)",
        "espymetrics_repair_bytes_total": "bytes of records repair moved, either way",
        "espymetrics_repair_partitions_dropped_total": "handed-off partitions deleted here",
        "espymetrics_repair_records_pulled_total": "records repair copied into this node",
        "espymetrics_repair_records_pushed_total": "records repair copied from this node to other replicas",
        "espymetrics_repair_round_duration_seconds": "how long an anti-entropy round took",
        "espymetrics_repair_rounds_total": "anti-entropy rounds finished",
        "espymetrics_storage_failures_total": "/v1 write requests answered 503 because records missed their write quorum",
        "espymetrics_store_records": "records in this node's shard (its replicas, not the cluster's total)",
        "espymetrics_store_size_bytes": "shard file plus its WAL",
    ]

    /// `exposition` with a `# HELP` line before each family's `# TYPE` line.
    static func withHelpLines(_ exposition: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(exposition.count + text.count * 80)
        for line in exposition.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.starts(with: typePrefix), let name = line.dropFirst(typePrefix.count).split(separator: UInt8(ascii: " ")).first {
                let family = String(decoding: name, as: UTF8.self)
                out += Array("# HELP \(family) \(text[family] ?? family.replacingOccurrences(of: "_", with: " "))\n".utf8)
            }
            out += line
            out.append(UInt8(ascii: "\n"))
        }
        out.removeLast()
        return out
    }

    private static let typePrefix = Array("# TYPE ".utf8)
}
