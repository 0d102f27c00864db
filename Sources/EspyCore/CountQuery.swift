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
    /// Every `group_by` path, in the order given (`groupBy` is set only for the seed's question:
    /// one path, no filters).
    public var groupPaths: [FieldPath] = []
    /// The paths as the client spelled them.
    public var groupPathTexts: [String] = []
    /// `where` and `where_not`: a record is counted only if every filter admits it.
    public var filters: [CountFilter] = []
    /// `bucket`: rows per day, week or month of `server_time`, the bucket's first day first in
    /// each composite key.
    public var bucket: TimeBucket?
    /// `distinct=PATH`: each row also counts the distinct values of PATH among its records.
    public var distinct: FieldPath?
    public var distinctText: String?

    /// A question beyond the seed's (several paths, filters, or buckets): its counts are keyed
    /// by `CompositeKey` and read by one pass over the records.
    public var isComposite: Bool { groupPaths.count > 1 || !filters.isEmpty || bucket != nil || distinct != nil }

    /// The composite key of a record stamped `time` whose values at `compositePaths` are `values`.
    public func compositeKey(_ values: [String?], bucketLabel: String?) -> String? {
        let grouped = Array(values.prefix(groupPaths.count))
        if let bucketLabel { return CompositeKey.encode([bucketLabel] + grouped) }
        return groupPaths.isEmpty ? nil : CompositeKey.encode(grouped)
    }

    /// Every path a composite count reads from a record: the grouped ones, then the filtered.
    public var compositePaths: [FieldPath] { groupPaths + filters.map(\.path) + (distinct.map { [$0] } ?? []) }

    /// Whether a record whose values at `compositePaths` are `values` is counted.
    public func admits(_ values: [String?]) -> Bool {
        for (index, filter) in filters.enumerated() where !filter.admits(values[groupPaths.count + index]) { return false }
        return true
    }

    /// Group paths a count may have: each is a column of its answer's rows.
    public static let maxGroupPaths = 4

    public init(groupBy: FieldPath? = nil, groupByText: String? = nil, limit: Int? = nil,
                since: Timestamp? = nil, until: Timestamp? = nil) {
        self.groupBy = groupBy
        self.groupByText = groupByText ?? groupBy?.description
        groupPaths = groupBy.map { [$0] } ?? []
        groupPathTexts = self.groupByText.map { [$0] } ?? []
        self.limit = limit
        self.since = since
        self.until = until
    }

    /// Longer `group_by` paths are refused: the path travels in every sub-request to the other
    /// nodes, and no record nests deep enough for a path of more segments than
    /// `JSONCompactor.maxDepth` to match anything.
    public static let maxGroupByBytes = 1024
    public static let maxGroupBySegments = JSONCompactor.maxDepth

    /// Reads `group_by` (up to `maxGroupPaths`), `where`, `where_not`, `limit`, `since` and
    /// `until` from decoded query parameters; a repeated single-valued one is refused, unknown
    /// ones are left for the caller.
    public init(parameters: QueryParameters.List) throws(QueryParameterError) {
        self.init()
        for parameter in parameters where parameter.name == "group_by" {
            let path = try CountQuery.path("group_by", parameter.value)
            guard !groupPaths.contains(path) else {
                throw QueryParameterError(parameter: "group_by", reason: "names '\(parameter.value)' twice")
            }
            groupPaths.append(path)
            groupPathTexts.append(parameter.value)
        }
        guard groupPaths.count <= CountQuery.maxGroupPaths else {
            throw QueryParameterError(parameter: "group_by", reason: "is given \(groupPaths.count) times; at most \(CountQuery.maxGroupPaths)")
        }
        filters = try CountFilter.filters(parameters)
        if let value = try QueryParameters.value("bucket", in: parameters) {
            guard let bucket = TimeBucket(rawValue: value) else {
                throw QueryParameterError(parameter: "bucket", reason: "must be day, week or month, got '\(value)'")
            }
            self.bucket = bucket
        }
        if let value = try QueryParameters.value("distinct", in: parameters) {
            distinct = try CountQuery.path("distinct", value)
            distinctText = value
        }
        if groupPaths.count == 1 && filters.isEmpty && bucket == nil {
            groupBy = groupPaths[0]
            groupByText = groupPathTexts[0]
        }
        if let value = try QueryParameters.value("limit", in: parameters) {
            guard let number = Int(value), number >= 0 else {
                throw QueryParameterError(parameter: "limit", reason: "must be a whole number ≥ 0, got '\(value)'")
            }
            limit = number
        }
        if let value = try QueryParameters.value("since", in: parameters) { since = try CountQuery.time("since", value) }
        if let value = try QueryParameters.value("until", in: parameters) { until = try CountQuery.time("until", value) }
        if distinct != nil, limit != nil {
            throw QueryParameterError(parameter: "distinct", reason: "cannot be combined with limit yet")
        }
        if let since, let until, until < since {
            throw QueryParameterError(parameter: "until", reason: "is before since")
        }
    }

    /// A path parameter (`group_by`, or the path of a `where`), bounded like `group_by`.
    static func path(_ name: String, _ value: String) throws(QueryParameterError) -> FieldPath {
        guard value.utf8.count <= maxGroupByBytes else {
            throw QueryParameterError(parameter: name, reason: "is \(value.utf8.count) bytes long; at most \(maxGroupByBytes)")
        }
        let path: FieldPath
        do { path = try FieldPath(parsing: value) } catch {
            throw QueryParameterError(parameter: name, reason: "\(error)")
        }
        guard path.segments.count <= maxGroupBySegments else {
            throw QueryParameterError(parameter: name, reason: "has \(path.segments.count) segments; at most \(maxGroupBySegments)")
        }
        return path
    }

    private static func time(_ name: String, _ value: String) throws(QueryParameterError) -> Timestamp {
        do { return try Timestamp(parsing: restoringOffsetSign(value)) } catch {
            throw QueryParameterError(parameter: name, reason: "\(error) (in a URL, write the '+' of an offset as %2B)")
        }
    }

    /// A literal `+` in a query string decodes to a space, so `since=2026-12-01T22:00:00+01:00`
    /// typed as the docs show it arrives as `2026-12-01T22:00:00 01:00`. A space where an
    /// offset's sign belongs (before a final `HH:MM`, after a time) can only have been that `+`.
    static func restoringOffsetSign(_ value: String) -> String {
        var bytes = Array(value.utf8)
        let sign = bytes.count - 6
        let digit = { (byte: UInt8) in byte &- UInt8(ascii: "0") < 10 }
        guard sign > 10, bytes[sign] == UInt8(ascii: " "), digit(bytes[sign + 1]), digit(bytes[sign + 2]),
              bytes[sign + 3] == UInt8(ascii: ":"), digit(bytes[sign + 4]), digit(bytes[sign + 5]) else { return value }
        bytes[sign] = UInt8(ascii: "+")
        return String(decoding: bytes, as: UTF8.self)
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

/// Checks on an endpoint's decoded query parameters.
public enum QueryParameters {
    public typealias List = [(name: String, value: String)]

    /// Refuses a parameter the endpoint does not take, and one given twice: none has a meaning
    /// when repeated yet, and silently using one of the values would hide the client's mistake.
    public static func check(_ parameters: List, allowed: [String], repeatable: [String] = []) throws(QueryParameterError) {
        for (position, parameter) in parameters.enumerated() {
            guard allowed.contains(parameter.name) else {
                let hint = allowed.isEmpty ? "this endpoint takes no parameters" : "use " + allowed.joined(separator: ", ")
                throw QueryParameterError(parameter: parameter.name, reason: "is not known; \(hint)")
            }
            if !repeatable.contains(parameter.name), parameters[..<position].contains(where: { $0.name == parameter.name }) {
                throw repeated(parameter.name)
            }
        }
    }

    /// The value of `name`, nil when absent; refused when given more than once.
    public static func value(_ name: String, in parameters: List) throws(QueryParameterError) -> String? {
        var found: String?
        for parameter in parameters where parameter.name == name {
            guard found == nil else { throw repeated(name) }
            found = parameter.value
        }
        return found
    }

    private static func repeated(_ name: String) -> QueryParameterError {
        QueryParameterError(parameter: name, reason: "is given more than once")
    }
}
