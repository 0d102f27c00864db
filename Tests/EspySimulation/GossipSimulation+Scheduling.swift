extension GossipSimulation {
    /// Runs `body` at `milliseconds` (not before now) on the simulation's own queue, so work
    /// beside gossip interleaves with its packets and timers in one reproducible order.
    public func schedule(at milliseconds: UInt64, _ body: @escaping () -> Void) {
        scheduledPending += 1
        queue.push(.scheduled(body), at: max(milliseconds, now.milliseconds))
    }
}
