/// A timer the core asked for with `.schedule`; the shell hands it back to `timerFired`.
///
/// Timers are one-shot and never cancelled: the core recognises a firing that no longer
/// matters (the probe it guarded was answered, the suspicion was refuted or re-armed) and
/// ignores it. That keeps the shell a plain "run this later" with no bookkeeping.
public enum GossipTimer: Hashable, Sendable {
    /// Start the next probe. Periodic: each firing schedules the next.
    case probe
    /// Send queued broadcasts to a few random members. Periodic.
    case gossip
    /// Anti-entropy push/pull with one random live member. Periodic, scaled with cluster size.
    case pushPull
    /// Serf's reconnect: push/pull join with a random failed member. Periodic.
    case reconnect
    /// Retry a join that reached none of its seeds.
    case joinRetry
    /// The direct ping `seq` got no ack within the probe timeout: start indirect probes and
    /// the TCP fallback.
    case probeTimeout(seq: UInt32)
    /// The probe interval of ping `seq` is over: without any ack, suspect the target.
    case indirectTimeout(seq: UInt32)
    /// We relayed an indirect ping as our ping `seq` and the target stayed silent: send the
    /// requester a nack if it asked for one.
    case relayTimeout(seq: UInt32)
    /// The suspicion of `node` (at `incarnation` when armed) may have run out.
    case suspicionTimeout(node: String, incarnation: UInt32)
}
