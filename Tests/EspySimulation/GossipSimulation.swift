import EspyGossip
import EspyGossipWire

/// What to simulate.
public struct SimulationConfiguration: Sendable {
    /// Everything random (latency, loss, every node's generator) derives from this.
    public var seed: UInt64
    /// Nodes per datacenter; nodes are numbered datacenter by datacenter.
    public var datacenterSizes: [Int]
    public var network: NetworkConditions
    public var codec: CodecRoundTrip
    public var profile: GossipProfile
    /// Applied to each node's settings after name, address and profile are filled in.
    public var adjustSettings: @Sendable (inout GossipSettings) -> Void
    /// Runs every node's cluster layer (membership reaction, placement, repair planning) over
    /// this many partitions; nil runs gossip alone.
    public var clusterPartitions: Int?

    public init(seed: UInt64, datacenterSizes: [Int] = [67, 67, 66], network: NetworkConditions = NetworkConditions(),
                codec: CodecRoundTrip = .plain, profile: GossipProfile = .lan, clusterPartitions: Int? = nil,
                adjustSettings: @escaping @Sendable (inout GossipSettings) -> Void = { _ in }) {
        self.seed = seed
        self.clusterPartitions = clusterPartitions
        self.datacenterSizes = datacenterSizes
        self.network = network
        self.codec = codec
        self.profile = profile
        self.adjustSettings = adjustSettings
    }
}

/// Counters of what the simulated network did.
public struct SimulationStatistics: Sendable {
    public var actionsProcessed = 0
    public var packetsSent = 0
    public var messagesSent = 0
    public var bytesSent = 0
    public var packetsLost = 0
    public var packetsCutByPartition = 0
    public var packetsToStoppedNodes = 0
    public var packetsDelivered = 0
    public var streamsOpened = 0
    public var streamsFailed = 0
    /// Packets or streams the real codec could not decode: always a bug here.
    public var decodeErrors = 0
}

/// N `GossipInstance`s on a simulated network with a virtual clock: a discrete-event
/// simulation in the spirit of TigerBeetle's VOPR. Single-threaded and fully deterministic:
/// the same configuration (seed included) produces the same `trace`, in any process.
///
/// Nodes are addressed by index; node i is named `dc<d>-n<i>` and lives at
/// `198.18.<d>.<k>:7946` (a benchmarking range; nothing is ever sent anywhere).
public final class GossipSimulation {
    public let configuration: SimulationConfiguration
    public private(set) var now = GossipInstant.zero
    public let nodeCount: Int
    public private(set) var observer: MembershipObserver
    /// Every node's cluster layer, when the configuration asks for one.
    public let cluster: ClusterLayerSimulation?
    public internal(set) var trace = TraceHash()
    public internal(set) var statistics = SimulationStatistics()
    /// UDP loss rate from now on.
    public var udpLossRate: Double
    /// Codec round trip from now on (starts as configured): a test can join cheaply and then
    /// push the long steady phase through the real codec.
    public var codec: CodecRoundTrip

    let names: [String]
    let addresses: [GossipAddress]
    let datacenters: [Int]
    let indexByName: [String: Int]
    let indexByAddress: [GossipAddress: Int]
    var instances: [GossipInstance?]
    /// Bumped on every kill and start, so that timers and stream results of a previous life are dropped.
    var epochs: [Int]
    var generators: [SimulationRandom]
    var networkRandom: SimulationRandom
    /// Nodes talk only within the same group; all 0 when the network is whole.
    var partitionGroups: [Int]
    var queue = EventQueue<SimulationAction>()
    /// Work scheduled beside gossip and not run yet: its closures belong to this run, so a run
    /// holding any cannot be copied.
    var scheduledPending = 0

    public convenience init(_ configuration: SimulationConfiguration) {
        self.init(configuration, cluster: configuration.clusterPartitions.map {
            ClusterLayerSimulation(nodeCount: configuration.datacenterSizes.reduce(0, +), partitionCount: $0)
        })
    }

    private init(_ configuration: SimulationConfiguration, cluster: ClusterLayerSimulation?) {
        self.configuration = configuration
        var names: [String] = [], addresses: [GossipAddress] = [], datacenters: [Int] = []
        for (datacenter, size) in configuration.datacenterSizes.enumerated() {
            precondition(size < 255, "at most 254 nodes per datacenter")
            for slot in 0..<size {
                names.append("dc\(datacenter + 1)-n\(names.count)")
                addresses.append(GossipAddress(ip: [198, 18, UInt8(datacenter), UInt8(slot + 1)], port: 7946))
                datacenters.append(datacenter)
            }
        }
        self.names = names
        self.addresses = addresses
        self.datacenters = datacenters
        nodeCount = names.count
        indexByName = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        indexByAddress = Dictionary(uniqueKeysWithValues: addresses.enumerated().map { ($1, $0) })
        instances = Array(repeating: nil, count: nodeCount)
        epochs = Array(repeating: 0, count: nodeCount)
        var master = SimulationRandom(seed: configuration.seed)
        networkRandom = master.fork()
        generators = (0..<nodeCount).map { _ in master.fork() }
        partitionGroups = Array(repeating: 0, count: nodeCount)
        udpLossRate = configuration.network.udpLossRate
        codec = configuration.codec
        observer = MembershipObserver(nodeCount: nodeCount)
        self.cluster = cluster
    }

    /// An independent copy of this run at this moment: running it gives exactly what running
    /// this one would. Lets tests start from one formed cluster without forming it again each
    /// time. Only between actions, and not while work scheduled beside gossip is pending.
    public func copy() -> GossipSimulation {
        precondition(scheduledPending == 0, "work scheduled beside gossip belongs to this run")
        let copy = GossipSimulation(configuration, cluster: cluster?.copy())
        copy.now = now
        copy.observer = observer
        copy.trace = trace
        copy.statistics = statistics
        copy.udpLossRate = udpLossRate
        copy.codec = codec
        copy.instances = instances
        copy.epochs = epochs
        copy.generators = generators
        copy.networkRandom = networkRandom
        copy.partitionGroups = partitionGroups
        copy.queue = queue
        return copy
    }

    /// The HTTP address a node announces (nothing listens there; the cluster layer only routes by it).
    public func httpAddress(_ node: Int) -> String {
        let ip = addresses[node].ip
        return "\(ip[0]).\(ip[1]).\(ip[2]).\(ip[3]):8888"
    }

    // MARK: - Layout

    public func name(_ node: Int) -> String { names[node] }
    public func address(_ node: Int) -> GossipAddress { addresses[node] }
    public func datacenter(of node: Int) -> Int { datacenters[node] }
    public func index(of name: String) -> Int? { indexByName[name] }

    public func nodes(inDatacenter datacenter: Int) -> [Int] {
        (0..<nodeCount).filter { datacenters[$0] == datacenter }
    }

    public func isRunning(_ node: Int) -> Bool { instances[node] != nil }
    public var runningNodes: [Int] { (0..<nodeCount).filter { instances[$0] != nil } }
    public func instance(_ node: Int) -> GossipInstance? { instances[node] }

    // MARK: - Control

    /// Starts `node` at `time` (default: now) and joins it through `seeds`.
    public func start(_ node: Int, at time: GossipInstant? = nil, seeds: [Int]) {
        queue.push(.start(node: node, seeds: seeds), at: (time ?? now).milliseconds)
    }

    /// Stops `node` at once, as SIGKILL would: no goodbye, its timers and streams die with it.
    public func kill(_ node: Int) {
        instances[node] = nil
        epochs[node] += 1
        observer.forget(observer: node)
        cluster?.stop(node)
    }

    /// Kills `node` if running and starts a fresh instance (incarnation 1 again) that joins via `seeds`.
    public func restart(_ node: Int, seeds: [Int]) {
        kill(node)
        start(node, seeds: seeds)
    }

    /// A graceful leave (with a Serf leave intent); the node keeps running until killed.
    public func leave(_ node: Int, serfLeaveIntentLTime: UInt64 = 1) {
        guard instances[node] != nil else { return }
        let directives = instances[node]!.leave(now: now, serfLeaveIntentLTime: serfLeaveIntentLTime, rng: &generators[node])
        execute(directives, for: node)
    }

    /// Splits the network: nodes in different groups cannot reach each other; nodes in no
    /// group form one more group together.
    public func partition(_ groups: [[Int]]) {
        partitionGroups = Array(repeating: 0, count: nodeCount)
        for (number, group) in groups.enumerated() {
            for node in group { partitionGroups[node] = number + 1 }
        }
    }

    public func heal() {
        partitionGroups = Array(repeating: 0, count: nodeCount)
    }

    func canReach(_ a: Int, _ b: Int) -> Bool {
        partitionGroups[a] == partitionGroups[b]
    }

    // MARK: - Running

    /// Processes every action due up to `deadline`, then sets the clock to it.
    public func run(until deadline: GossipInstant) {
        while let next = queue.nextTime, next <= deadline.milliseconds, let (time, action) = queue.pop() {
            now = GossipInstant(milliseconds: time)
            statistics.actionsProcessed += 1
            process(action)
        }
        now = max(now, deadline)
    }

    public func run(forMilliseconds duration: UInt64) {
        run(until: now.advanced(byMilliseconds: duration))
    }

    /// Runs until `condition` holds (checked every `interval` ms of virtual time) or `deadline`
    /// passes; returns when it first held, or nil.
    public func run(until deadline: GossipInstant, checkingEveryMilliseconds interval: UInt64 = 100,
                    for condition: (GossipSimulation) -> Bool) -> GossipInstant? {
        while true {
            if condition(self) { return now }
            if now >= deadline { return nil }
            run(until: min(deadline, now.advanced(byMilliseconds: interval)))
        }
    }

    // MARK: - Checks

    /// True when every running node sees exactly `count` members alive (itself included).
    public func everyRunningNodeSees(aliveCount count: Int) -> Bool {
        (0..<nodeCount).allSatisfy { instances[$0] == nil || observer.aliveCount(seenBy: $0) == count }
    }

    /// Disagreements between the event-built views and the instances' own tables.
    public func viewMismatches() -> [String] {
        (0..<nodeCount).flatMap { node -> [String] in
            guard let instance = instances[node] else { return [] }
            return observer.mismatches(observer: node, instance: instance, index: indexByName)
        }
    }

    // MARK: - Executing directives

    func execute(_ directives: [GossipDirective], for node: Int) {
        var events: [MemberEvent] = []
        defer {
            if let wake = cluster?.deliver(events, to: node, at: now) {
                queue.push(.membershipWake(node: node, epoch: epochs[node]), at: wake.milliseconds)
            }
        }
        for directive in directives {
            switch directive {
            case let .send(to, messages):
                sendPacket(from: node, to: to, messages: messages)
            case let .openStream(id, to, message, timeout):
                openStream(from: node, id: id, to: to, message: message, timeoutMilliseconds: timeout)
            case let .schedule(timer, delay):
                queue.push(.timer(node: node, epoch: epochs[node], timer), at: now.milliseconds + delay)
            case let .event(event):
                record(event, by: node)
                events.append(event)
            case .removed:
                break
            }
        }
    }

    private func record(_ event: MemberEvent, by node: Int) {
        guard let subject = indexByName[event.member.name] else {
            preconditionFailure("node \(node) reported a member that is not in the simulation: \(event.member.name)")
        }
        observer.record(event, observer: node, subject: subject, at: now)
        let last = observer.events[observer.events.count - 1]
        trace.mix(now.milliseconds)
        trace.mix(node)
        trace.mix(subject)
        trace.mix(last.kind.rawValue)
        trace.mix(UInt64(last.incarnation))
    }

    func latency(from a: Int, to b: Int) -> UInt64 {
        latency(from: a, to: b, using: &networkRandom)
    }

    /// One-way latency drawn from `random`: traffic beside gossip draws from its own stream, so
    /// that adding it does not shift gossip's packets.
    func latency(from a: Int, to b: Int, using random: inout SimulationRandom) -> UInt64 {
        let range = datacenters[a] == datacenters[b] ? configuration.network.intraDatacenterLatencyMilliseconds
            : configuration.network.interDatacenterLatencyMilliseconds
        return UInt64.random(in: range, using: &random)
    }

    private func process(_ action: SimulationAction) {
        switch action {
        case let .start(node, seeds):
            startInstance(node, seeds: seeds)
        case let .timer(node, epoch, timer):
            guard epochs[node] == epoch, instances[node] != nil else { return }
            let directives = instances[node]!.timerFired(timer, now: now, rng: &generators[node])
            execute(directives, for: node)
        case let .membershipWake(node, epoch):
            guard epochs[node] == epoch, let wake = cluster?.wake(node, at: now) else { return }
            queue.push(.membershipWake(node: node, epoch: epoch), at: max(wake.milliseconds, now.milliseconds + 1))
        case let .packet(to, from, payload):
            deliverPacket(to: to, from: from, payload: payload)
        case let .streamArrival(exchange):
            serveStream(exchange)
        case let .streamResult(node, epoch, id, result):
            guard epochs[node] == epoch, instances[node] != nil else { return }
            trace.mix(now.milliseconds)
            trace.mix(node)
            trace.mix(id)
            let directives = instances[node]!.streamResult(id: id, result: result, now: now, rng: &generators[node])
            execute(directives, for: node)
        case let .scheduled(body):
            scheduledPending -= 1
            body()
        }
    }

    private func startInstance(_ node: Int, seeds: [Int]) {
        if instances[node] != nil { kill(node) }
        epochs[node] += 1
        var settings = GossipSettings(name: names[node], address: addresses[node], profile: configuration.profile)
        if let cluster {
            settings.meta = try! SerfTags.encode(cluster.tags(datacenter: datacenters[node], httpAddress: httpAddress(node)))
            cluster.start(node, name: names[node], datacenter: datacenters[node], httpAddress: httpAddress(node))
        }
        configuration.adjustSettings(&settings)
        var instance = GossipInstance(settings: settings)
        let started = instance.start(now: now, rng: &generators[node])
        let joining = instance.join(seeds: seeds.map { addresses[$0] }, now: now, rng: &generators[node])
        instances[node] = instance
        execute(started + joining, for: node)
    }
}

/// Everything the event queue can hold.
enum SimulationAction {
    case start(node: Int, seeds: [Int])
    case timer(node: Int, epoch: Int, GossipTimer)
    case membershipWake(node: Int, epoch: Int)
    case packet(to: Int, from: Int, PacketPayload)
    case streamArrival(StreamExchange)
    case streamResult(node: Int, epoch: Int, id: UInt64, Result<StreamMessage, GossipStreamFailure>)
    /// Work outside gossip (the cluster layer's requests), on the same clock and in the same order.
    case scheduled(() -> Void)
}
