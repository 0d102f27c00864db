/// One path's condition in a count: `where=PATH:VALUE` (repeated for the same path: any of the
/// values) or `where_not=PATH:VALUE` (none of them). Conditions on different paths must all hold.
/// Values are compared as the keys of answers show them (`JSONText.groupingKey`); nil stands for
/// a record without the path, written `(missing)`.
public struct CountFilter: Hashable, Sendable {
    public let path: FieldPath
    public let values: Set<String?>
    public let excludes: Bool

    public init(path: FieldPath, values: Set<String?>, excludes: Bool) {
        self.path = path
        self.values = values
        self.excludes = excludes
    }

    public func admits(_ value: String?) -> Bool { values.contains(value) != excludes }

    /// How answers and parameters write a record without the path.
    public static let missingText = "(missing)"

    /// The filters of `where` and `where_not` parameters, one per path and kind, in the order
    /// their paths first appear.
    static func filters(_ parameters: QueryParameters.List) throws(QueryParameterError) -> [CountFilter] {
        var filters: [CountFilter] = []
        for parameter in parameters where parameter.name == "where" || parameter.name == "where_not" {
            let excludes = parameter.name == "where_not"
            let (path, value) = try condition(parameter.name, parameter.value)
            if let index = filters.firstIndex(where: { $0.path == path && $0.excludes == excludes }) {
                filters[index] = CountFilter(path: path, values: filters[index].values.union([value]), excludes: excludes)
            } else {
                filters.append(CountFilter(path: path, values: [value], excludes: excludes))
            }
        }
        guard filters.count <= maxPaths else {
            throw QueryParameterError(parameter: "where", reason: "names \(filters.count) paths; at most \(maxPaths)")
        }
        return filters
    }

    /// Paths a count may filter on: each is read from every record the count scans.
    public static let maxPaths = 8

    private static func condition(_ name: String, _ text: String) throws(QueryParameterError) -> (FieldPath, String?) {
        guard let colon = text.firstIndex(of: ":") else {
            throw QueryParameterError(parameter: name, reason: "must be PATH:VALUE (for example uname.system:Linux), got '\(text)'")
        }
        let path = try CountQuery.path(name, String(text[..<colon]))
        let value = String(text[text.index(after: colon)...])
        return (path, value == missingText ? nil : value)
    }

    /// The parameters that carry these filters to another node.
    public var parameters: QueryParameters.List {
        values.map { (excludes ? "where_not" : "where", path.description + ":" + ($0 ?? CountFilter.missingText)) }
            .sorted { $0.1 < $1.1 }
    }
}
