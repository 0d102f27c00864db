/// What happened to one record of a batch, as the import answer lists it.
public struct RecordWriteOutcome: Hashable, Sendable {
    public enum Verdict: String, Hashable, Sendable {
        /// Committed on at least `required` replicas.
        case acknowledged
        /// Could not reach `required` commits; the client should retry (retries are idempotent).
        case failedQuorum
    }

    public let partition: Int
    public let verdict: Verdict
    public let required: Int
    /// Replicas that committed it, in `PartitionMap` order.
    public let committed: [MemberName]
    /// Replicas that failed, timed out or were unreachable.
    public let failed: [MemberName]
    /// Replicas whose answer was not needed to decide and had not come when the answer went out.
    public let unanswered: [MemberName]
}

/// The decision for a whole batch, in batch order.
public struct WriteResult: Hashable, Sendable {
    public let outcomes: [RecordWriteOutcome]

    public var allAcknowledged: Bool { outcomes.allSatisfy { $0.verdict == .acknowledged } }

    /// The records to name in a 503, as batch indices.
    public var failedRecordIndices: [Int] { outcomes.indices.filter { outcomes[$0].verdict == .failedQuorum } }
}
