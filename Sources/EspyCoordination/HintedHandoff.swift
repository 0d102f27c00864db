import EspyAPI
import EspyCluster
import EspyCore
import EspyLoop
import EspyStorage
import EspyWire
import Logging

/// Replays hints: records a replica missed while it was down or unreachable, kept in this
/// node's shard, sent to it once gossip shows it alive again, oldest first, one batch at a
/// time. Hints older than the window are dropped; anti-entropy brings over what they carried.
public final class HintedHandoff {
    private let coordinator: ClusterCoordinator
    private let settings: RepairSettings
    private let logger: Logger
    private var ticker: EspyLoop.Timer?
    private var replaying = false
    private var lastExpiryAt: UInt64 = 0

    public init(coordinator: ClusterCoordinator, settings: RepairSettings, logger: Logger) {
        self.coordinator = coordinator
        self.settings = settings
        self.logger = logger
    }

    public func start() {
        let ticker = EspyLoop.Timer(loop: coordinator.loop)
        ticker.start(after: 1_000, repeat: 1_000) { [unowned self] in tick() }
        self.ticker = ticker
    }

    public func stop() {
        ticker?.close()
        ticker = nil
    }

    private func tick() {
        let shard = coordinator.shard
        let now = coordinator.loop.nowMilliseconds
        if now - lastExpiryAt >= 60_000 {
            lastExpiryAt = now
            let cutoff = Timestamp(microseconds: Timestamp.now().microseconds - Int64(settings.hintWindowMilliseconds) * 1_000)
            shard.expireHints(createdBefore: cutoff)
        }
        guard !replaying else { return }
        let routable = coordinator.routable
        guard let target = shard.hintCounts.keys.sorted().first(where: { routable.contains(MemberName($0)) }),
              let address = coordinator.httpAddresses[MemberName(target)] else { return }
        replaying = true
        replay(to: target, at: address)
    }

    private func replay(to target: String, at address: SocketAddress) {
        coordinator.shard.hints(for: target, limit: settings.batchSize) { [self] result in
            guard case .success(let hints) = result, !hints.isEmpty else {
                replaying = false
                return
            }
            var body: [UInt8] = []
            for hint in hints {
                body += hint.record
                body.append(0x0A)
            }
            coordinator.client.request(.post, "/internal/v1/records", to: address,
                                       headers: coordinator.replicaRecordsHeaders, body: body) { [self] result in
                guard case .success(let response) = result else {
                    replaying = false
                    return
                }
                switch response.status {
                case 200:
                    forget(hints, for: target, at: address) { [self] in
                        coordinator.metrics.hintsDelivered.increment(by: hints.count)
                        logger.debug("hints delivered", metadata: ["cluster/node": "\(target)", "cluster/records": "\(hints.count)"])
                    }
                case 421:
                    // The target is no longer a replica of some of these partitions: what it
                    // missed there is for their owners, whom anti-entropy gives it. The rest
                    // go again without them.
                    let declined = Set(InternalWire.declinedPartitions(response.headers[InternalWire.unavailableHeader],
                                                                       partitionCount: coordinator.partitionCount) ?? [])
                    let misdirected = hints.filter { $0.partition(of: coordinator.partitionCount).map(declined.contains) ?? false }
                    guard !misdirected.isEmpty else {
                        replaying = false
                        return
                    }
                    forget(misdirected, for: target, at: address) { [self] in
                        coordinator.metrics.hintsDropped.increment(by: misdirected.count)
                        logger.debug("hints dropped: the replica no longer holds their partitions", metadata: [
                            "cluster/node": "\(target)", "cluster/records": "\(misdirected.count)",
                        ])
                    }
                default:
                    replaying = false
                }
            }
        }
    }

    /// Deletes `hints`, then goes on with the target's next batch.
    private func forget(_ hints: [Hint], for target: String, at address: SocketAddress, then report: @escaping () -> Void) {
        coordinator.shard.deleteHints(hints.map(\.seq), for: target) { [self] deleted in
            guard case .success = deleted else {
                replaying = false
                return
            }
            report()
            replay(to: target, at: address)
        }
    }
}
