import EspyAPI
import EspyCluster
import EspyCoordination
import EspyCore
import EspyDashboard
import EspyHTTPClient
import EspyGossip
import EspyGossipWire
import EspyHTTP
import EspyHTTPServer
import EspyLoop
import EspyStorage
import Logging
import Prometheus

/// One EspyMetrics node: its loop, shard, HTTP API and signal handling, wired together.
public final class Node {
    public let config: NodeConfig
    let logger: Logger
    let loop: EventLoop
    var shard: Shard?
    private var api: V1API?
    var server: HTTPServer?
    /// Serves `/internal/v1/*` on `[cluster] internal_address`, when one is configured.
    var internalServer: HTTPServer?
    var gossip: GossipShell?
    var coordinator: ClusterCoordinator?
    private var internalAPI: InternalAPI?
    private(set) var httpClient: HTTPClient?
    var repairer: ReplicaRepairer?
    private var hintedHandoff: HintedHandoff?
    /// Settles membership when no seed answers: this node is then the cluster, for now.
    private var settleTimer: Timer?
    var leaveTimers: [Timer] = []
    /// Re-checks membership now and then: failed members release their partitions by time.
    var membershipTimer: Timer?
    /// Wakes membership when a coalescing window it asked for ends.
    private var membershipWake: Timer?
    /// Notices the loop standing still (SIGSTOP, swapping): peers may have written around us.
    private var stallWatch: Timer?
    private let snapshot: MemberSnapshot
    /// The data members the snapshot named at start: rejoined, and awaited before settling.
    private var remembered: [EspyCluster.Member] = []
    private var snapshotSaving = false
    private var savedViewDigest: UInt64?
    private var signalWatchers: [SignalWatcher] = []
    var shutdownStarted = false
    let metrics: NodeMetrics
    /// Endpoints the node answers itself, from state no single subsystem owns.
    private var nodeRoutes = Router()

    /// Opens the shard and binds the HTTP port; throws before serving anything if either fails.
    /// `registry` must be the one the process's MetricsSystem was bootstrapped with
    /// (`NodeMetrics.factory(registry:)`), so every subsystem's metrics land in `/metrics`.
    public init(config: NodeConfig, logger: Logger, metricsRegistry: PrometheusCollectorRegistry) throws {
        self.config = config
        self.logger = logger
        metrics = NodeMetrics(registry: metricsRegistry)
        loop = try EventLoop()
        try createDataDirectory(config.node.dataDirectory)
        snapshot = MemberSnapshot(dataDirectory: config.node.dataDirectory)
        remembered = try snapshot.load(now: Timestamp.now()).filter { $0.name.rawValue != config.node.name }
        let shard = try Shard(loop: loop, settings: config.shardSettings, logger: logger)
        self.shard = shard
        // From here on the loop runs whatever happens, so lines logged on it can wait for it.
        LogSink.standardError.attach(to: loop)
        nodeRoutes.add(.get, "/metrics") { [unowned self] in self.serveMetrics($0, $1) }
        nodeRoutes.add(.get, "/v1/cluster/members") { [unowned self] in self.serveMembers($0, $1) }
        nodeRoutes.add(.get, "/v1/cluster/partitions") { [unowned self] in self.servePartitions($0, $1) }
        nodeRoutes.add(.post, "/v1/cluster/remove") { [unowned self] in self.serveRemove($0, $1) }
        nodeRoutes.add(.post, "/v1/cluster/leave") { [unowned self] in self.serveLeave($0, $1) }
        nodeRoutes.add(.get, "/v1/cluster/views") { [unowned self] in self.serveViews($0, $1) }
        let dashboard = Dashboard(chartLibraryPath: config.ui.chartLibraryPath)
        if let problem = dashboard.chartLibraryProblem { logger.warning("the dashboard has no charts: \(problem)") }
        dashboard.add(to: &nodeRoutes)
        do {
            let client = HTTPClient(loop: loop)
            httpClient = client
            let internalAPI = InternalAPI(loop: loop, shard: shard, logger: logger)
            self.internalAPI = internalAPI
            let internalAddress = config.cluster.internalAddress
            server = try HTTPServer(loop: loop, settings: httpSettings()) { [unowned self] request, reply in
                if request.path.hasPrefix(InternalAPI.pathPrefix) {
                    guard let internalAddress else { return internalAPI.handle(request, reply: reply) }
                    return reply(.error(.notFound, "node-to-node requests are served on this node's internal address (\(internalAddress)), not here"))
                }
                self.nodeRoutes.dispatch(request, reply: reply) { request, reply in
                    self.api?.handle(request, reply: reply) ?? reply(.error(.serviceUnavailable, "starting"))
                }
            }
            if let internalAddress { internalServer = try startInternalServer(on: internalAddress, serving: internalAPI) }
            let coordinator = ClusterCoordinator(
                loop: loop, shard: shard, client: client, selfName: config.node.name, datacenter: config.node.datacenter,
                http: advertisedHTTPAddress, quorum: config.cluster.writeQuorum, readConsistency: config.cluster.readConsistency,
                replicasPerDatacenter: config.cluster.replicasPerDatacenter,
                membershipSettings: config.cluster.membershipSettings,
                subRequestTimeoutMilliseconds: config.cluster.subRequestTimeoutMilliseconds,
                scanTimeoutMilliseconds: config.cluster.scanTimeoutMilliseconds, logger: logger)
            self.coordinator = coordinator
            internalAPI.readiness = { [unowned coordinator] in coordinator.readable($0) }
            internalAPI.owns = { [unowned coordinator] in coordinator.owns($0) }
            internalAPI.placement = { [unowned coordinator] in coordinator.placementDigestHex }
            internalAPI.onReplicaWrite = { [unowned coordinator] in coordinator.noteLocalWrite(partitions: $0, failure: $1) }
            internalAPI.onMissedWrites = { [unowned coordinator] in coordinator.markBehind($0) }
            secureInternalRequests(api: internalAPI, client: client, coordinator: coordinator)
            if !remembered.isEmpty {
                // Placed as before the restart, so a write needs the same replicas it needed then.
                handle(coordinator.apply(remembered.map { .reported($0) }, now: Timestamp.now()))
                coordinator.settlingReason = "rejoining the cluster: none of the \(remembered.count) members this node last knew has answered yet"
            }
            let repairer = ReplicaRepairer(coordinator: coordinator, settings: config.repair, logger: logger)
            self.repairer = repairer
            let readRepair = { [weak repairer] (repairs: [PartitionReplica], completion: @escaping (Bool) -> Void) in
                guard let repairer else { return completion(false) }
                repairer.pull(repairs, completion: completion)
            }
            coordinator.pullLocally = readRepair
            internalAPI.onReadRepair = readRepair
            coordinator.onPlacementChange = { [unowned repairer] in repairer.requestRound() }
            coordinator.onMapRebuilt = { [unowned self] in saveSnapshotIfChanged() }
            repairer.start()
            let hintedHandoff = HintedHandoff(coordinator: coordinator, settings: config.repair, logger: logger)
            self.hintedHandoff = hintedHandoff
            hintedHandoff.start()
            let api = V1API(loop: loop, store: coordinator, shard: shard,
                            identity: NodeIdentity(name: config.node.name, datacenter: config.node.datacenter), logger: logger)
            api.operatorAccess = operatorAccess
            self.api = api
            metrics.knownRoutes = Set(api.paths + internalAPI.paths + nodeRoutes.paths)
            do {
                gossip = try startGossip()
            } catch let error as LoopError {
                throw ListenerStartError(listener: "gossip", address: config.gossip.address, cause: error)
            }
            if !remembered.isEmpty {
                // A node that was part of a cluster waits for it, however long: alone, it
                // would answer from its stale shard as if complete.
            } else if config.gossip.seeds.isEmpty {
                coordinator.membershipSettled = true
            } else {
                let settle = Timer(loop: loop)
                settle.start(after: 15_000) { [unowned self] in settleMembership(reason: "no seed answered; serving as the cluster's first node") }
                settleTimer = settle
            }
            membershipWake = Timer(loop: loop)
            membershipWake?.unreference()
            let timer = Timer(loop: loop)
            timer.unreference()
            timer.start(after: 10_000, repeat: 10_000) { [unowned self] in self.membershipTick() }
            membershipTimer = timer
            let stallWatch = Timer(loop: loop)
            stallWatch.unreference()
            let interval = ClusterCoordinator.stallWatchIntervalMilliseconds
            stallWatch.start(after: interval, repeat: interval) { [unowned coordinator] in coordinator.checkForStall() }
            self.stallWatch = stallWatch
            for signal in [SIGINT, SIGTERM] {
                signalWatchers.append(try SignalWatcher(loop: loop, signal: signal) { [unowned self] signal in
                    self.handleSignal(signal)
                })
            }
        } catch {
            // Everything started so far is stopped, or the loop would run on and the process
            // hang instead of exiting with the reason.
            membershipWake?.close()
            membershipTimer?.close()
            stallWatch?.close()
            settleTimer?.close()
            repairer?.stop()
            hintedHandoff?.stop()
            for watcher in signalWatchers { watcher.close() }
            httpClient?.close()
            gossip?.close()
            server?.shutdown {}
            internalServer?.shutdown {}
            shard.close {}
            loop.run()
            LogSink.standardError.detach()
            throw error
        }
    }

    /// Binds the gossip sockets and announces this node with Serf-style tags: its datacenter,
    /// HTTP address and role, which `serf members` shows too.
    private func startGossip() throws -> GossipShell {
        var tags = ["dc": config.node.datacenter, "http": advertisedHTTPAddress, "role": "espymetrics", "espy_protocol": "1",
                    "partitions": String(config.cluster.partitions), "version": BuildVersion.current]
        if let bound = internalServer?.localAddress { tags[Member.internalAddressTag] = bound.description }
        let shell = try GossipShell(loop: loop, logger: logger, bind: config.gossip.address,
                                    keyring: config.gossip.keyring) { [config] bound in
            GossipSettings(name: config.node.name, address: try GossipAddress(config.gossip.advertise ?? bound),
                           meta: try SerfTags.encode(tags), profile: config.gossip.profile)
        }
        shell.onMemberChanges = { [unowned self] changes in self.membersChanged(changes) }
        shell.onDeathRefuted = { [unowned self] in self.coordinator?.markBehindEverywhere(reason: "gossip declared this node dead") }
        shell.start(seeds: config.gossip.seeds + rememberedGossipAddresses)
        return shell
    }

    /// What peers and operators are told to use. A wildcard bind (0.0.0.0, ::) is not an address
    /// anyone can reach, so then the gossip address's host stands in (it must be concrete).
    private var advertisedHTTPAddress: String {
        if let advertised = config.http.advertise { return advertised.description }
        guard let bound = httpAddress else { return config.http.server.address.description }
        guard bound.host == "0.0.0.0" || bound.host == "::" else { return bound.description }
        let gossipHost = (config.gossip.advertise ?? config.gossip.address).host
        return ((try? SocketAddress(host: gossipHost, port: bound.port)) ?? bound).description
    }

    /// Gossip's news of some members: the coordinator reacts (routing at once, placement and
    /// repair once the burst is over); the node does what only it can.
    private func membersChanged(_ changes: [ClusterMembership.Change]) {
        guard let coordinator, !shutdownStarted else { return }
        handle(coordinator.apply(changes, now: Timestamp.now()))
        if !coordinator.membershipSettled, changes.contains(where: { isAlivePeer($0) }) {
            settleMembership(reason: remembered.isEmpty ? "joined the cluster" : "rejoined the cluster")
        }
    }

    private func isAlivePeer(_ change: ClusterMembership.Change) -> Bool {
        guard case .reported(let member) = change else { return false }
        return member.name.rawValue != config.node.name && member.status == .alive
    }

    private func membershipTick() {
        guard let coordinator, !shutdownStarted else { return }
        handle(coordinator.tick(now: Timestamp.now()))
        // Remembered peers may all have been down when this node started; keep asking.
        if !coordinator.membershipSettled, !remembered.isEmpty { gossip?.join(rememberedGossipAddresses) }
    }

    private var rememberedGossipAddresses: [SocketAddress] {
        remembered.compactMap { try? SocketAddress(parsing: $0.gossipAddress) }
    }

    /// Keeps the snapshot in step with the placement view, once membership has settled (before,
    /// the view is the remembered one or a partial one): after each map rebuild and at settling.
    private func saveSnapshotIfChanged() {
        guard let coordinator, coordinator.membershipSettled, !snapshotSaving, !coordinator.isLeaving,
              coordinator.placementDigest != savedViewDigest else { return }
        let digest = coordinator.placementDigest
        let members = coordinator.view.members.compactMap { member in
            member.name == coordinator.selfName ? nil : coordinator.membership.reported[member.name] ?? member
        }
        snapshotSaving = true
        snapshot.save(members, on: loop) { [self] failure in
            snapshotSaving = false
            if let failure {
                logger.error("cannot save the member snapshot; a restart may not find the cluster", metadata: ["storage/error": "\(failure)"])
                return
            }
            savedViewDigest = digest
            saveSnapshotIfChanged()
        }
    }

    private func handle(_ effects: [ClusterMembership.Effect]) {
        for effect in effects {
            switch effect {
            case .wake(let at):
                let delay = max(0, at.microseconds - Timestamp.now().microseconds) / 1_000
                membershipWake?.start(after: UInt64(delay) + 1) { [unowned self] in self.membershipTick() }
            case .refuseToJoin(let theirs):
                // Placement depends on the partition count; nodes that disagree would misplace
                // records. This node is in the minority, so it is the one that must not take part.
                logger.critical("refusing to join: the cluster uses partitions = \(theirs) but this node has \(config.cluster.partitions); leaving",
                                metadata: ["config/key": "cluster.partitions"])
                exitStatus = 2
                shutdownStarted = true
                shutdown()
                return
            case .ignoring(let member, let partitions):
                logger.error("ignoring member with a different partition count", metadata: [
                    "gossip/member": "\(member)", "cluster/partitions": "\(partitions)",
                ])
            case .routingChanged, .placementChanged, .repairRound:
                break
            }
        }
    }

    /// From now on repair may declare partitions caught up: the view includes the peers that
    /// hold what this node may have missed.
    private func settleMembership(reason: String) {
        settleTimer?.close()
        settleTimer = nil
        guard let coordinator, !coordinator.membershipSettled else { return }
        coordinator.membershipSettled = true
        // Remembered members the cluster no longer reports are taken as failed: they keep
        // their partitions for the failure timeout, and writes are hinted for them.
        let gossiped = gossip?.members ?? [:]
        let forgotten = remembered.filter { gossiped[$0.name.rawValue] == nil }.map { member -> ClusterMembership.Change in
            var dead = member
            dead.status = .dead
            return .reported(dead)
        }
        if !forgotten.isEmpty { handle(coordinator.apply(forgotten, now: Timestamp.now())) }
        saveSnapshotIfChanged()
        repairer?.requestRound()
        logger.info("membership settled; reconciling partitions before serving reads for them", metadata: [
            "cluster/reason": "\(reason)", "cluster/catching_up": "\(coordinator.catchingUp.count)",
        ])
    }

    /// Set when the node stops for a reason the operator must fix (exit code 2).
    private var exitStatus: Int32 = 0

    /// The address the HTTP server actually bound (port 0 resolves here).
    public var httpAddress: SocketAddress? { server?.localAddress }

    /// Serves until SIGINT/SIGTERM has drained everything; returns the process exit code.
    public func run() -> Int32 {
        logger.info("node serving", metadata: [
            "node/name": "\(config.node.name)", "node/datacenter": "\(config.node.datacenter)",
            "http/address": "\(httpAddress ?? config.http.server.address)",
            "gossip/address": "\(gossip?.localAddress ?? config.gossip.address)",
            "storage/path": "\(config.node.databasePath)", "storage/records": "\(shard?.recordCount ?? 0)",
        ])
        loop.run()
        LogSink.standardError.detach()
        loop.close()
        logger.info("node stopped", metadata: ["node/name": "\(config.node.name)"])
        return exitStatus
    }

    private func handleSignal(_ signal: Int32) {
        guard !shutdownStarted else {
            logger.warning("second signal: exiting without waiting for in-flight requests")
            exit(1)
        }
        if signal == SIGTERM {
            leave(reason: "SIGTERM")
            return
        }
        shutdownStarted = true
        logger.info("stopping without handoff: partitions stay with this node until it returns", metadata: ["signal": "\(signal)"])
        shutdown(leavingTheCluster: false)
    }

    /// Stops: HTTP stops accepting and in-flight requests finish, then the shard closes cleanly.
    /// `leavingTheCluster` gossips a graceful leave first (the others release this node's
    /// partitions); without it gossip just goes quiet, the others see a failure, and the node
    /// keeps its partitions until it is back.
    public func shutdown(leavingTheCluster: Bool = true) {
        membershipTimer?.close()
        membershipTimer = nil
        membershipWake?.close()
        membershipWake = nil
        stallWatch?.close()
        stallWatch = nil
        settleTimer?.close()
        settleTimer = nil
        repairer?.stop()
        hintedHandoff?.stop()
        if leavingTheCluster {
            snapshot.delete()
            gossip?.leave { [self] in gossip = nil }
        } else {
            gossip?.close()
            gossip = nil
        }
        var listening = internalServer == nil ? 1 : 2
        let serversStopped = { [self] in
            listening -= 1
            guard listening == 0 else { return }
            server = nil
            internalServer = nil
            httpClient?.close()
            shard?.close { [self] in
                shard = nil
                for watcher in signalWatchers { watcher.close() }
                signalWatchers = []
            }
        }
        server?.shutdown(serversStopped)
        internalServer?.shutdown(serversStopped)
    }
}

/// `mkdir -p`: creates the data directory and any missing parents.
private func createDataDirectory(_ path: String) throws {
    var info = stat()
    if stat(path, &info) == 0 {
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ConfigError(key: "node.data_dir", "'\(path)' exists and is not a directory")
        }
        return
    }
    if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
        try createDataDirectory(String(path[..<slash]))
    }
    guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
        throw ConfigError(key: "node.data_dir", "cannot create '\(path)': \(String(cString: strerror(errno)))")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
