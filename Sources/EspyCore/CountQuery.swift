/// A group-by count over stored records: the question behind `GET /v1/count`.
public struct CountQuery: Hashable, Sendable {
    /// The path to group by; nil asks only for the number of records.
    public var groupBy: FieldPath?
    /// The path as the client spelled it, echoed back as `grouped_by`.
    public var groupByText: String?
    /// Count only the `limit` most recent records (by `server_time`, newest first).
    public var limit: Int?
    /// Inclusive lower bound on `server_time`.
    public var since: Timestamp?
    /// Exclusive upper bound on `server_time`, so that consecutive ranges never overlap.
    public var until: Timestamp?

    public init(groupBy: FieldPath? = nil, groupByText: String? = nil, limit: Int? = nil,
                since: Timestamp? = nil, until: Timestamp? = nil) {
        self.groupBy = groupBy
        self.groupByText = groupByText ?? groupBy?.description
        self.limit = limit
        self.since = since
        self.until = until
    }

    /// Reads `group_by`, `limit`, `since` and `until` from decoded query parameters; unknown
    /// parameters are left for the caller.
    public init(parameters: [(name: String, value: String)]) throws(QueryParameterError) {
        self.init()
        for (name, value) in parameters {
            switch name {
            case "group_by":
                do {
                    groupBy = try FieldPath(parsing: value)
                    groupByText = value
                } catch {
                    throw QueryParameterError(parameter: name, reason: "\(error)")
                }
            case "limit":
                guard let number = Int(value), number >= 0 else {
                    throw QueryParameterError(parameter: name, reason: "must be a whole number ≥ 0, got '\(value)'")
                }
                limit = number
            case "since", "until":
                let time: Timestamp
                do { time = try Timestamp(parsing: value) } catch {
                    throw QueryParameterError(parameter: name, reason: "\(error)")
                }
                if name == "since" { since = time } else { until = time }
            default:
                continue
            }
        }
        if let since, let until, until < since {
            throw QueryParameterError(parameter: "until", reason: "is before since")
        }
    }

    /// Whether a record stamped `time` falls in the query's time range.
    public func contains(_ time: Timestamp) -> Bool {
        if let since, time < since { return false }
        if let until, time >= until { return false }
        return true
    }
}

/// A query parameter the service cannot honour; the message names the parameter.
public struct QueryParameterError: Error, CustomStringConvertible, Sendable {
    public let parameter: String
    public let reason: String

    public init(parameter: String, reason: String) {
        self.parameter = parameter
        self.reason = reason
    }

    public var description: String { "parameter '\(parameter)' \(reason)" }
}
