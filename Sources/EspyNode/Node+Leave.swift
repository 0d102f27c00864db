import EspyCore
import EspyLoop

extension Node {
    /// A graceful leave: gossip tells the cluster this node is going, so its partitions move to
    /// their runners-up; repair pushes to them whatever they lack and drops each partition once
    /// confirmed; then the node stops. Bounded by `repair.leave_timeout_ms`.
    /// What a leave would hand off now: the partitions held and the live members to take them;
    /// nil when there is nothing to hand off (no records, or no other member alive).
    var handoffPlan: (partitions: Int, successors: Int)? {
        guard let coordinator, let shard, !shard.digests.isEmpty else { return nil }
        let successors = coordinator.view.owners.count { $0.name != coordinator.selfName && $0.status.isRoutable }
        return successors == 0 ? nil : (shard.digests.count, successors)
    }

    func leave(reason: String) {
        guard !shutdownStarted, let coordinator, let repairer else { return }
        shutdownStarted = true
        guard let (partitions, _) = handoffPlan, let shard else {
            logger.info("leaving: nothing to hand off", metadata: ["cluster/reason": "\(reason)"])
            return shutdown()
        }
        logger.info("leaving: handing partitions off before stopping", metadata: [
            "cluster/reason": "\(reason)", "cluster/partitions": "\(partitions)", "storage/records": "\(shard.recordCount)",
        ])
        membershipTimer?.close()
        membershipTimer = nil
        gossip?.leave { [self] in gossip = nil }
        coordinator.beginLeaving(now: Timestamp.now())
        let startedAt = loop.nowMilliseconds
        let deadline = config.repair.leaveTimeoutMilliseconds
        var finished = false
        func finish(_ message: String) {
            guard !finished else { return }
            finished = true
            for timer in leaveTimers { timer.close() }
            leaveTimers = []
            logger.info("\(message)", metadata: ["cluster/partitions_left": "\(self.shard?.digests.count ?? 0)",
                                                  "cluster/ms": "\(loop.nowMilliseconds - startedAt)"])
            shutdown()
        }
        let progress = Timer(loop: loop)
        progress.start(after: 5_000, repeat: 5_000) { [unowned self] in
            let left = self.shard?.digests.count ?? 0
            logger.info("leaving: handoff progress", metadata: [
                "cluster/partitions_done": "\(partitions - left)", "cluster/partitions_left": "\(left)",
            ])
            if loop.nowMilliseconds - startedAt >= deadline { finish("leaving: handoff timed out; stopping anyway") }
        }
        leaveTimers.append(progress)
        repairer.handOffEverything { finish("leaving: every partition handed off") }
    }
}
