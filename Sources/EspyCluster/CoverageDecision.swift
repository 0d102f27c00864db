/// Whether a query answer may go out, given what it covers and whether the client accepts a
/// partial answer (`allow_partial=true`). The one place this rule lives.
public enum CoverageDecision: Hashable, Sendable {
    /// Every partition answered: 200, `"partial": false`.
    case complete
    /// Some partitions missing and the client allowed it: 200, `"partial": true`.
    case partial(missing: [Int])
    /// Some partitions missing and the client did not allow it: 503 naming them, because a low
    /// count that looks complete is worse than no count.
    case unavailable(missing: [Int])

    public init(coverage: Coverage, allowPartial: Bool) {
        if !coverage.isPartial {
            self = .complete
        } else if allowPartial {
            self = .partial(missing: coverage.missingPartitions)
        } else {
            self = .unavailable(missing: coverage.missingPartitions)
        }
    }

    public var httpStatus: Int {
        switch self {
        case .complete, .partial: return 200
        case .unavailable: return 503
        }
    }

    public var missingPartitions: [Int] {
        switch self {
        case .complete: return []
        case let .partial(missing), let .unavailable(missing): return missing
        }
    }
}
