import EspyAPI
import EspyHTTP
import EspyTestKit
import Foundation
import XCTest

/// Real nodes on loopback for the cluster and repair tests: started, joined, loaded with
/// generated profiles, and inspected through their HTTP APIs.
final class ClusterHarness {
    let directory = TemporaryDirectory()
    private(set) var nodes: [String: NodeProcess] = [:]
    /// Datacenter of each node ever started.
    private(set) var datacenters: [String: String] = [:]
    static let partitionCount = 4096
    /// Every cluster test runs with internal requests signed, as the deploy examples do.
    static let clusterKeys = ["rDJ6y4MDiU5ZcnWr3FjD1gY2JDnQ3C2HykOJmNJa2+0="]

    /// Starts `name` in `datacenter`, joining through any running node (none, or not `seeded`:
    /// it founds the cluster, or finds it through its member snapshot).
    @discardableResult
    func start(_ name: String, datacenter: String, gossip: String = "127.0.0.1:0", user: String? = nil,
               config: String? = nil, seeded: Bool = true, keys: [String] = ClusterHarness.clusterKeys) throws -> NodeProcess {
        // mkdtemp makes the directory private to root; nodes running as other users live in it.
        if user != nil { chmod(directory.path, 0o755) }
        var arguments = ["--datacenter", datacenter]
        if seeded, let seed = nodes.values.first(where: { $0.process.isRunning }) {
            arguments += ["--join", "127.0.0.1:\(seed.gossipPort)"]
        }
        if let config {
            let path = directory.file(name + ".toml")
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o644)
            arguments += ["--config", path]
        }
        let node = try NodeProcess(dataDirectory: directory.file(name), name: name, gossip: gossip, extraArguments: arguments, user: user,
                                   environment: keys.isEmpty ? [:] : ["ESPYMETRICS_CLUSTER_KEYS": keys.joined(separator: ",")])
        nodes[name] = node
        datacenters[name] = datacenter
        return node
    }

    /// Restarts a stopped node on its data and gossip address (memberlist does not let a dead
    /// member come back from a new address).
    @discardableResult
    func restart(_ name: String, user: String? = nil, config: String? = nil, seeded: Bool = true,
                 keys: [String] = ClusterHarness.clusterKeys) throws -> NodeProcess {
        let gossip = "127.0.0.1:\(nodes[name]!.gossipPort)"
        nodes[name] = nil
        return try start(name, datacenter: datacenters[name]!, gossip: gossip, user: user, config: config, seeded: seeded, keys: keys)
    }

    subscript(name: String) -> NodeProcess { nodes[name]! }

    var running: [String] { nodes.filter { $0.value.process.isRunning }.map(\.key).sorted() }

    func alive(seenBy name: String) -> Set<String> {
        guard let members = try? nodes[name]?.request("GET", "/v1/cluster/members").json()?["members"] as? [[String: Any]] else { return [] }
        return Set(members.filter { $0["status"] as? String == "alive" }.compactMap { $0["name"] as? String })
    }

    func waitUntil(_ seconds: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return condition()
    }

    /// Starts `names`, dealt over dc1, dc2, dc3 in turn, and waits until each sees all alive.
    func startCluster(_ names: [String], config: String? = nil) throws {
        for (index, name) in names.enumerated() { try start(name, datacenter: "dc\(index % 3 + 1)", config: config) }
        for name in names {
            XCTAssertTrue(waitUntil(30) { alive(seenBy: name).isSuperset(of: names) }, "cluster did not form at \(name)")
        }
    }

    /// Posts `profiles` to `node` in batches; fails the test on any batch not fully accepted.
    func ingest(_ profiles: ArraySlice<ProfileGenerator.Profile>, through node: String, batch: Int = 2_500,
                file: StaticString = #filePath, line: UInt = #line) throws {
        for start in stride(from: profiles.startIndex, to: profiles.endIndex, by: batch) {
            let body = profiles[start..<min(start + batch, profiles.endIndex)].map(\.json).joined(separator: "\n")
            let response = try nodes[node]!.request("POST", "/v1/import", body: Array(body.utf8))
            XCTAssertEqual(response.status, 200, response.bodyText, file: file, line: line)
        }
    }

    /// The signature a peer holding `keys` puts on a request made now.
    static func signature(_ method: String, _ target: String, body: [UInt8], keys: [String] = clusterKeys) throws -> String {
        try InternalRequestSigner(base64Keys: keys).signature(method: HTTPMethod(method), target: target, body: body,
                                                              nowMilliseconds: Int64(Date().timeIntervalSince1970 * 1_000))
    }

    /// A node-to-node request, signed with the cluster key as a peer signs it.
    func internalRequest(_ node: String, _ method: String, _ target: String, body: [UInt8] = [],
                         contentType: String? = nil, keys: [String] = ClusterHarness.clusterKeys,
                         headers: [(String, String)] = []) throws -> RawHTTPResponse {
        try nodes[node]!.request(method, target, body: body, contentType: contentType,
                                 headers: [(InternalRequestSigner.header, try Self.signature(method, target, body: body, keys: keys))] + headers)
    }

    /// Every partition `node` holds, with its digest (`count:hash`).
    func digests(of node: String) throws -> [Int: String] {
        let all = (0..<Self.partitionCount).map(String.init).joined(separator: ",")
        let response = try internalRequest(node, "POST", "/internal/v1/repair/digests", body: Array(all.utf8))
        guard response.status == 200 else { throw NodeProcessError(message: "digests of \(node): \(response.status)") }
        var digests: [Int: String] = [:]
        for line in response.bodyText.split(separator: "\n") {
            let parts = line.split(separator: " ")
            digests[Int(parts[0])!] = String(parts[1])
        }
        return digests
    }

    /// What the running nodes hold, checked against the placement the cluster should have
    /// converged to: one holder per datacenter for every partition that has records, all with
    /// the same digest, `records` records per datacenter, and no node holding more partitions
    /// than the map gives it (a partition it handed off and did not drop). Empty when
    /// converged; otherwise what is still wrong.
    func convergenceProblems(records: Int) -> [String] {
        var holders: [Int: [(node: String, digest: String)]] = [:]
        var recordsPerDatacenter: [String: Int] = [:]
        var problems: [String] = []
        let owned = (try? nodes[running[0]]!.request("GET", "/v1/cluster/partitions").json()?["owned"] as? [String: Int]) ?? [:]
        for name in running {
            guard let digests = try? digests(of: name) else { return ["\(name) did not answer"] }
            if digests.count > owned[name] ?? 0 { problems.append("\(name) holds \(digests.count) partitions, owns \(owned[name] ?? 0)") }
            for (partition, digest) in digests {
                holders[partition, default: []].append((name, digest))
                recordsPerDatacenter[datacenters[name]!, default: 0] += Int(digest.split(separator: ":")[0])!
            }
        }
        let datacenterCount = Set(running.map { datacenters[$0]! }).count
        for partition in 0..<Self.partitionCount {
            guard let copies = holders[partition] else { continue }  // no records at all
            if copies.count != datacenterCount || Set(copies.map { datacenters[$0.node]! }).count != datacenterCount {
                problems.append("partition \(partition) held by \(copies.map(\.node))")
            } else if Set(copies.map(\.digest)).count != 1 {
                problems.append("partition \(partition) differs: \(copies.map { "\($0.node)=\($0.digest)" })")
            }
        }
        for (datacenter, total) in recordsPerDatacenter where total != records {
            problems.append("\(datacenter) holds \(total) records, not \(records)")
        }
        return problems
    }

    func count(at node: String, _ query: String) throws -> (status: Int, json: [String: Any]) {
        let response = try nodes[node]!.request("GET", "/v1/count?" + query)
        return (response.status, response.json() ?? [:])
    }

    func partitions(of node: String) throws -> [String: Any] {
        try XCTUnwrap(try nodes[node]!.request("GET", "/v1/cluster/partitions").json())
    }

    /// Prints each node's warnings and errors (for a failed test) and stops every node. Of a
    /// large cluster, only nodes that warned, and fewer lines of each, so the output stays readable.
    func tearDown(failed: Bool) {
        if failed {
            let large = nodes.count > 12
            for (name, node) in nodes.sorted(by: { $0.key < $1.key }) {
                let notable = node.log.split(separator: "\n").filter {
                    !$0.contains("http/path=") && ($0.contains(" warning ") || $0.contains(" error ") || $0.contains("repair")
                        || $0.contains("leaving") || $0.contains("cluster/") || $0.contains("Fatal error"))
                }
                if large && !notable.contains(where: { $0.contains(" warning ") || $0.contains(" error ") || $0.contains("Fatal") }) { continue }
                print("log of \(name) (warnings, errors, repair):\n" + notable.suffix(large ? 15 : 60).joined(separator: "\n"))
            }
        }
        for node in nodes.values { node.terminateHard() }
        directory.remove()
    }
}

/// Asks every node in turn for a count, over and over on a background thread, and remembers
/// every answer that was not exactly the truth: what "counts stay exact throughout" means.
final class ReadLoad {
    private let nodes: [(name: String, node: NodeProcess)]
    private let truth: [String: Int]
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?
    private(set) var checks = 0
    private(set) var wrong: [String] = []

    init(harness: ClusterHarness, names: [String], truth: [String: Int]) {
        nodes = names.map { ($0, harness[$0]) }
        self.truth = truth
    }

    func start() {
        let thread = Thread { [self] in
            var turn = 0
            while !lock.withLock({ stopped }) {
                let (name, node) = nodes[turn % nodes.count]
                turn += 1
                guard node.process.isRunning, let response = try? node.request("GET", "/v1/count?group_by=python$version_info$0") else {
                    continue
                }
                let counts = response.json()?["counts"] as? [String: Int]
                lock.withLock {
                    checks += 1
                    if response.status != 200 || counts != truth { wrong.append("\(name): \(response.status) \(response.bodyText.prefix(300))") }
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        self.thread = thread
        thread.start()
    }

    /// Stops and returns (checks made, wrong answers).
    func stop() -> (checks: Int, wrong: [String]) {
        lock.withLock { stopped = true }
        while thread?.isFinished == false { Thread.sleep(forTimeInterval: 0.05) }
        return lock.withLock { (checks, wrong) }
    }
}

/// Posts profiles to one node batch after batch on a background thread, so that a test can
/// break the cluster while batches are in flight; remembers every batch not acknowledged.
final class BackgroundIngest {
    private let lock = NSLock()
    private var postedCount = 0
    private var refusedBatches: [String] = []
    private var thread: Thread?

    init(_ profiles: [ProfileGenerator.Profile], through node: NodeProcess, batch: Int) {
        let thread = Thread { [self] in
            for start in stride(from: 0, to: profiles.count, by: batch) {
                let body = profiles[start..<min(start + batch, profiles.count)].map(\.json).joined(separator: "\n")
                let response = try? node.request("POST", "/v1/import", body: Array(body.utf8))
                lock.withLock {
                    if response?.status != 200 { refusedBatches.append("batch at \(start): \(response?.bodyText ?? "no answer")") }
                    postedCount = min(start + batch, profiles.count)
                }
            }
        }
        self.thread = thread
        thread.start()
    }

    /// Records posted so far (answered, acknowledged or not).
    var posted: Int { lock.withLock { postedCount } }
    var refused: [String] { lock.withLock { refusedBatches } }
    var isFinished: Bool { thread?.isFinished ?? true }
}
