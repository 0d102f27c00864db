import EspyAPI
import EspyCluster
import EspyCore
import EspyLoop
import EspyStorage
import EspyWire
import Logging
import Metrics

/// Runs anti-entropy on the loop: one `RepairRound` at a time, after every map change, every
/// `intervalMilliseconds`, and every second while partitions are catching up or waiting to be
/// handed off. The round (pure) decides what to compare and what is settled; this class fetches
/// digests, moves the missing records in rate-limited batches, marks caught-up partitions
/// readable and drops partitions their new owners confirmed.
public final class ReplicaRepairer {
    let coordinator: ClusterCoordinator
    let settings: RepairSettings
    let logger: Logger
    let metrics = RepairMetrics()
    var limiter: RateLimiter
    /// One-shot waits of the rate limiter, kept alive until they fire.
    var waits: [ObjectIdentifier: EspyLoop.Timer] = [:]
    private var ticker: EspyLoop.Timer?
    private var round: RepairRound?
    private var roundMapDigest: UInt64 = 0
    private var roundSettled = false
    /// `coordinator.replicaReadiness.behindMarks` when the round began: partitions marked behind after that were
    /// compared too early to be declared caught up by it.
    private var roundBehindMarks = 0
    private var roundStartedAt: UInt64 = 0
    private var roundRequested = true
    private var lastRoundAt: UInt64 = 0
    /// The periodic interval until the next round, drawn anew each round (±25 % of
    /// `intervalMilliseconds`), so nodes started together do not all compare at the same moment.
    private var periodMilliseconds: UInt64
    /// This round's reconciliations, in the order the digests came; `nextTask` is the first not started.
    private var tasks: [RepairRound.Task] = []
    private var nextTask = 0
    private var tasksRunning = 0
    private var isStartingTasks = false
    private var startRequested = false
    private var roundFailures = 0
    private var roundFirstFailure: RepairRound.Task?
    private var dropping = false
    /// Whether the last round settled anything; if not, busy rounds slow down (a peer that keeps
    /// failing should not be asked every second).
    private var lastRoundProgressed = true
    private var onHandedOff: (() -> Void)?
    /// Records moved by repair since this process started, for the partitions report.
    public internal(set) var recordsPulled = 0
    public internal(set) var recordsPushed = 0
    /// Partitions to hand off since handoff was last idle: the denominator of its progress.
    public private(set) var handoffTotal = 0

    /// Reconciliations run at once; more would only queue on the peers' disks.
    static let concurrentTasks = 4

    public init(coordinator: ClusterCoordinator, settings: RepairSettings, logger: Logger) {
        self.coordinator = coordinator
        self.settings = settings
        self.logger = logger
        limiter = RateLimiter(perSecond: settings.maxRecordsPerSecond, now: coordinator.loop.nowMilliseconds)
        periodMilliseconds = Self.jittered(settings.intervalMilliseconds)
    }

    private static func jittered(_ interval: UInt64) -> UInt64 {
        interval / 4 * 3 + UInt64.random(in: 0...max(1, interval / 2))
    }

    public func start() {
        let ticker = EspyLoop.Timer(loop: coordinator.loop)
        ticker.start(after: 0, repeat: 500) { [unowned self] in tick() }
        self.ticker = ticker
    }

    public func stop() {
        ticker?.close()
        ticker = nil
        for timer in waits.values { timer.close() }
        waits = [:]
    }

    /// Membership or the map changed: compare again soon.
    public func requestRound() {
        roundRequested = true
    }

    /// Partitions held here that the map gives to others: waiting for handoff.
    public var handoffPending: Int {
        coordinator.shard.digests.keys.count { !coordinator.owns($0) }
    }

    /// Hands every partition off (the node is leaving): `completion` runs once the shard holds
    /// nothing more, each partition confirmed by its new owners.
    public func handOffEverything(completion: @escaping () -> Void) {
        onHandedOff = completion
        requestRound()
        checkHandedOff()
    }

    private func tick() {
        guard round == nil, !dropping else { return }
        let now = coordinator.loop.nowMilliseconds
        let busy = !coordinator.catchingUp.isEmpty || handoffPending > 0
        let busyInterval: UInt64 = lastRoundProgressed ? 1_000 : 10_000
        guard roundRequested || now - lastRoundAt >= periodMilliseconds || (busy && now - lastRoundAt >= busyInterval) else { return }
        roundRequested = false
        beginRound(now: now)
    }

    private func beginRound(now: UInt64) {
        let shard = coordinator.shard
        let pending = handoffPending
        handoffTotal = pending == 0 ? 0 : max(handoffTotal, pending)
        round = RepairRound(map: coordinator.map, selfName: coordinator.selfName, routable: coordinator.routable,
                            held: Set(shard.digests.keys))
        roundMapDigest = coordinator.map.digest
        roundSettled = coordinator.membershipSettled
        roundBehindMarks = coordinator.replicaReadiness.behindMarks
        roundStartedAt = now
        for (peer, partitions) in round!.comparisons.sorted(by: { $0.key < $1.key }) {
            compareDigests(with: peer, partitions: partitions)
        }
        finishIfDone()
    }

    private func compareDigests(with peer: MemberName, partitions: [Int]) {
        guard let address = coordinator.httpAddresses[peer] else {
            round?.onDigestsFailed(from: peer)
            logger.info("repair: no HTTP address for a peer; compared again next round", metadata: ["cluster/node": "\(peer)"])
            return
        }
        let body = Array(InternalWire.partitionsParameter(partitions).utf8)
        coordinator.client.request(.post, "/internal/v1/repair/digests", to: address, body: body) { [self] result in
            guard round != nil else { return }
            if case .success(let response) = result, response.status == 200, let remote = InternalWire.decodeDigests(response.body) {
                tasks += round!.onDigests(from: peer, remote: remote, local: coordinator.shard.digests)
                startTasks()
            } else {
                round!.onDigestsFailed(from: peer)
                let reason: String
                switch result {
                case .success(let response): reason = "status \(response.status)"
                case .failure(let error): reason = "\(error)"
                }
                logger.info("repair: a peer did not send its digests; compared again next round",
                            metadata: ["cluster/node": "\(peer)", "cluster/reason": "\(reason)"])
            }
            finishIfDone()
        }
    }

    /// Starts reconciliations up to the limit. A reconciliation may finish at once (the shard
    /// closed during shutdown answers synchronously), so a finish only asks for more and the
    /// outermost call starts them: otherwise thousands of tasks would recurse off the stack.
    private func startTasks() {
        guard !isStartingTasks else { return startRequested = true }
        isStartingTasks = true
        defer { isStartingTasks = false }
        repeat {
            startRequested = false
            startWaitingTasks()
        } while startRequested
    }

    private func startWaitingTasks() {
        while ticker != nil, tasksRunning < ReplicaRepairer.concurrentTasks, nextTask < tasks.count {
            let task = tasks[nextTask]
            nextTask += 1
            tasksRunning += 1
            reconcile(task) { [self] succeeded in
                tasksRunning -= 1
                if !succeeded {
                    if roundFailures == 0 { roundFirstFailure = task }
                    roundFailures += 1
                }
                round?.onTaskFinished(task, succeeded: succeeded)
                startTasks()
                finishIfDone()
            }
        }
    }

    private func finishIfDone() {
        guard let finished = round, finished.isFinished, tasksRunning == 0 else { return }
        round = nil
        tasks = []
        nextTask = 0
        // One line per round, not per partition: a failing disk fails thousands at once.
        if roundFailures > 0, let first = roundFirstFailure {
            logger.info("repair: reconciliations failed; retried next round", metadata: [
                "cluster/failed": "\(roundFailures)", "cluster/node": "\(first.peer)", "cluster/partition": "\(first.partition)",
            ])
        }
        roundFailures = 0
        roundFirstFailure = nil
        let now = coordinator.loop.nowMilliseconds
        lastRoundAt = now
        periodMilliseconds = Self.jittered(settings.intervalMilliseconds)
        metrics.rounds.increment()
        metrics.roundDuration.recordMilliseconds(Int64(now - roundStartedAt))
        // The map moved under the round: what it confirmed was measured against other owners.
        guard coordinator.map.digest == roundMapDigest else {
            roundRequested = true
            return
        }
        lastRoundProgressed = !finished.droppable.isEmpty
        if roundBehindMarks != coordinator.replicaReadiness.behindMarks { roundRequested = true }
        if roundSettled, roundBehindMarks == coordinator.replicaReadiness.behindMarks {
            let synced = finished.synced(among: coordinator.catchingUp)
            lastRoundProgressed = lastRoundProgressed || !synced.isEmpty
            if !synced.isEmpty {
                coordinator.markCaughtUp(synced)
                logger.info("repair: partitions caught up and readable", metadata: [
                    "cluster/caught_up": "\(synced.count)", "cluster/catching_up": "\(coordinator.catchingUp.count)",
                ])
            }
        }
        drop(finished.droppable[...])
    }

    /// Deletes handed-off partitions one by one (each its own transaction).
    private func drop(_ partitions: ArraySlice<Int>) {
        guard let partition = partitions.first else {
            dropping = false
            checkHandedOff()
            return
        }
        dropping = true
        // The map may have changed while earlier drops ran; a partition owned again stays.
        guard !coordinator.owns(partition) else { return drop(partitions.dropFirst()) }
        coordinator.shard.dropPartition(partition) { [self] result in
            switch result {
            case .success(let removed):
                metrics.partitionsDropped.increment()
                logger.info("repair: handed-off partition dropped", metadata: [
                    "cluster/partition": "\(partition)", "cluster/records": "\(removed)",
                    "cluster/handoff_pending": "\(handoffPending)",
                ])
            case .failure(let error):
                logger.error("repair: dropping partition failed", metadata: ["cluster/partition": "\(partition)", "storage/error": "\(error)"])
            }
            drop(partitions.dropFirst())
        }
    }

    private func checkHandedOff() {
        guard let onHandedOff, coordinator.shard.digests.isEmpty else { return }
        self.onHandedOff = nil
        onHandedOff()
    }
}

/// What repair counts, for /metrics.
struct RepairMetrics {
    let rounds = Counter(label: "espymetrics_repair_rounds_total")
    let roundDuration = Metrics.Timer(label: "espymetrics_repair_round_duration_seconds")
    let recordsPulled = Counter(label: "espymetrics_repair_records_pulled_total")
    let recordsPushed = Counter(label: "espymetrics_repair_records_pushed_total")
    let bytesMoved = Counter(label: "espymetrics_repair_bytes_total")
    let partitionsDropped = Counter(label: "espymetrics_repair_partitions_dropped_total")
}
