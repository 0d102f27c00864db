import EspyCluster
import EspyCore
import EspyHTTP

/// Where the `/v1` endpoints keep and read records. The node's implementation is the cluster
/// coordinator, which places records on their replicas and fans queries out; a one-node cluster
/// is the same code with every partition local.
public protocol RecordStore: AnyObject {
    var partitionCount: Int { get }

    /// Stores validated records; completes once each is acknowledged (or known not to be).
    func store(_ records: [PreparedRecord], completion: @escaping (StoreOutcome) -> Void)

    /// `consistency` nil: the node's configured default.
    func count(_ query: CountQuery, consistency: ReadConsistency?, allowPartial: Bool, completion: @escaping (CountAnswer) -> Void)

    /// Every record in range exactly once, as NDJSON, pulled as the client reads.
    func export(since: Timestamp?, until: Timestamp?, consistency: ReadConsistency?, allowPartial: Bool) -> ResponseBodyStream

    /// Whether this node's answers can be complete now; what `/v1/ready` and health report.
    var readiness: Readiness { get }
}

/// Why a node should not (yet) be sent queries: each reason is a sentence for an operator.
/// Empty when ready.
public struct Readiness: Sendable, Equatable {
    public var reasons: [String]
    public var isReady: Bool { reasons.isEmpty }

    public init(reasons: [String] = []) { self.reasons = reasons }
}

/// What happened to a write.
public struct StoreOutcome: Sendable {
    /// Records now stored on enough replicas, newly.
    public var stored = 0
    /// Records acknowledged that were already stored (same content).
    public var duplicates = 0
    /// Records not acknowledged (positions in the stored array), with why; the client retries them.
    public var failed: [(index: Int, reason: String)] = []

    public init(stored: Int = 0, duplicates: Int = 0, failed: [(index: Int, reason: String)] = []) {
        self.stored = stored
        self.duplicates = duplicates
        self.failed = failed
    }
}

/// A count, with how much of the data it covers.
public struct CountAnswer: Sendable {
    public var result: CountResult
    public var coverage: Coverage
    /// False when some partition had no answering replica.
    public var isComplete: Bool { !coverage.isPartial }

    public init(result: CountResult, coverage: Coverage) {
        self.result = result
        self.coverage = coverage
    }
}

extension Coverage {
    /// The `coverage` block of query answers.
    var json: JSONObject {
        var partitions = JSONObject()
        partitions.add("total", partitionsTotal)
        partitions.add("answered", partitionsAnswered)
        if readConsistency == .verified { partitions.add("repaired", partitionsRepaired) }
        var nodes = JSONObject()
        nodes.add("queried", nodesQueried)
        nodes.add("answered", nodesAnswered)
        nodes.addStrings("failed", nodesFailed.map(\.description))
        nodes.addStrings("unavailable", nodesUnavailable.map(\.description))
        nodes.addStrings("refused", nodesRefused.map(\.description))
        var coverage = JSONObject()
        coverage.add("partial", isPartial)
        coverage.add("read_consistency", readConsistency.rawValue)
        coverage.add("partitions", object: partitions)
        coverage.add("nodes", object: nodes)
        return coverage
    }
}
