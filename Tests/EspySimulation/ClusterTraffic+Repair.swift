import EspyCluster
import EspyCore

/// One node's anti-entropy, as `ReplicaRepairer` keeps it.
struct RepairState {
    var round: RepairRound?
    var roundMapDigest: UInt64 = 0
    /// A node compares as soon as it starts, and again on every `repairRound` effect.
    var roundRequested = true
    var repairRequestsSeen = 0
    var lastRoundAt: UInt64 = 0
    var periodMilliseconds: UInt64 = 0
    var tasks: [RepairRound.Task] = []
    var nextTask = 0
    var tasksRunning = 0
    var roundsBegun = 0
    var recordsPulled = 0
    var recordsPushed = 0
}

extension ClusterTraffic {
    /// Reconciliations one node runs at once (`ReplicaRepairer.concurrentTasks`).
    static let concurrentRepairTasks = 4

    /// Rounds each node has begun, from when repair started.
    public var repairRoundsBegun: [Int] { repairers.map(\.roundsBegun) }
    public var recordsPulledByRepair: Int { repairers.reduce(0) { $0 + $1.recordsPulled } }
    public var recordsPushedByRepair: Int { repairers.reduce(0) { $0 + $1.recordsPushed } }

    /// Starts every running node's repairer (a 500 ms ticker) and hinted handoff (a 1 s ticker).
    public func startRepairAndHintedHandoff() {
        for node in simulation.runningNodes {
            repairers[node].periodMilliseconds = jittered(settings.repairIntervalMilliseconds)
            repairers[node].lastRoundAt = simulation.now.milliseconds
            every(500, on: node) { [unowned self] in repairTick(node) }
            every(1_000, on: node) { [unowned self] in hintTick(node) }
        }
    }

    /// Runs `body` every `interval` ms of this life of `node`.
    func every(_ interval: UInt64, on node: Int, _ body: @escaping () -> Void) {
        let life = simulation.epochs[node]
        func fire() {
            guard simulation.epochs[node] == life, simulation.isRunning(node) else { return }
            body()
            simulation.schedule(at: simulation.now.milliseconds + interval, fire)
        }
        simulation.schedule(at: simulation.now.milliseconds + interval, fire)
    }

    /// ±25 % of the interval, so nodes started together do not all compare at the same moment.
    private func jittered(_ interval: UInt64) -> UInt64 {
        interval / 4 * 3 + UInt64.random(in: 0...max(1, interval / 2), using: &random)
    }

    private func repairTick(_ node: Int) {
        guard let membership = membership(node) else { return }
        if membership.repairRequests != repairers[node].repairRequestsSeen {
            repairers[node].repairRequestsSeen = membership.repairRequests
            repairers[node].roundRequested = true
        }
        let now = simulation.now.milliseconds
        let state = repairers[node]
        guard state.round == nil, state.roundRequested || now - state.lastRoundAt >= state.periodMilliseconds else { return }
        repairers[node].roundRequested = false
        beginRound(node)
    }

    private func beginRound(_ node: Int) {
        let membership = membership(node)!, map = map(node)!
        let round = RepairRound(map: map, selfName: membership.selfName, routable: membership.routable,
                                held: Set(shards[node].digests.keys))
        repairers[node].round = round
        repairers[node].roundMapDigest = map.digest
        repairers[node].roundsBegun += 1
        for (peer, partitions) in round.comparisons.sorted(by: { $0.key < $1.key }) {
            let target = self.node(named: peer)
            call(from: node, to: target, serve: { [unowned self] in
                shards[target].digests.filter { partitions.contains($0.key) }
            }) { [unowned self] remote in
                guard repairers[node].round != nil else { return }
                if let remote {
                    repairers[node].tasks += repairers[node].round!.onDigests(from: peer, remote: remote, local: shards[node].digests)
                    startTasks(node)
                } else {
                    repairers[node].round!.onDigestsFailed(from: peer)
                }
                finishRoundIfDone(node)
            }
        }
        finishRoundIfDone(node)
    }

    private func startTasks(_ node: Int) {
        while repairers[node].tasksRunning < Self.concurrentRepairTasks, repairers[node].nextTask < repairers[node].tasks.count {
            let task = repairers[node].tasks[repairers[node].nextTask]
            repairers[node].nextTask += 1
            repairers[node].tasksRunning += 1
            reconcile(task, at: node) { [unowned self] succeeded in
                repairers[node].tasksRunning -= 1
                repairers[node].round?.onTaskFinished(task, succeeded: succeeded)
                startTasks(node)
                finishRoundIfDone(node)
            }
        }
    }

    /// One reconciliation: the peer's ids of the partition (the bucket exchange only narrows
    /// which ids travel), then the records the receiving side lacks, in one request.
    private func reconcile(_ task: RepairRound.Task, at node: Int, completion: @escaping (Bool) -> Void) {
        let peer = self.node(named: task.peer)
        call(from: node, to: peer, serve: { [unowned self] in shards[peer].ids(in: task.partition) }) { [unowned self] remote in
            guard let remote else { return completion(false) }
            let local = shards[node].ids(in: task.partition)
            switch task.direction {
            case .pull:
                let missing = remote.subtracting(local).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
                guard !missing.isEmpty else { return completion(true) }
                call(from: node, to: peer, serve: { [unowned self] in missing.filter { shards[peer].ids(in: task.partition).contains($0) } }) {
                    [unowned self] fetched in
                    guard let fetched else { return completion(false) }
                    _ = shards[node].write(fetched, partitionCount: partitionCount)
                    repairers[node].recordsPulled += fetched.count
                    completion(true)
                }
            case .push:
                let missing = local.subtracting(remote).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
                guard !missing.isEmpty else { return completion(true) }
                call(from: node, to: peer, serve: { [unowned self] in shards[peer].write(missing, partitionCount: partitionCount) }) {
                    [unowned self] stored in
                    guard stored != nil else { return completion(false) }
                    repairers[node].recordsPushed += missing.count
                    completion(true)
                }
            }
        }
    }

    private func finishRoundIfDone(_ node: Int) {
        guard let finished = repairers[node].round, finished.isFinished, repairers[node].tasksRunning == 0 else { return }
        repairers[node].round = nil
        repairers[node].tasks = []
        repairers[node].nextTask = 0
        repairers[node].lastRoundAt = simulation.now.milliseconds
        repairers[node].periodMilliseconds = jittered(settings.repairIntervalMilliseconds)
        // The map moved under the round: what it confirmed was measured against other owners.
        guard let map = map(node), map.digest == repairers[node].roundMapDigest else {
            repairers[node].roundRequested = true
            return
        }
        let owned = Set(map.partitions(ownedBy: memberName(node)))
        for partition in finished.droppable where !owned.contains(partition) { shards[node].drop(partition) }
    }
}
