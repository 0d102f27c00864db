/// The datacenter a member runs in. Placement keeps `replicasPerDatacenter` copies of every
/// partition in each datacenter, so a whole datacenter can be lost without losing data.
public struct DatacenterName: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    public init(stringLiteral value: String) { self.rawValue = value }

    public static func < (lhs: DatacenterName, rhs: DatacenterName) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }
}
