/// A node's name in the cluster: its identity for placement, so renaming a node is leaving and
/// joining again (its partitions move).
///
/// A wrapper rather than a bare `String` so a member name cannot be passed where an address or a
/// datacenter is expected.
public struct MemberName: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    public init(stringLiteral value: String) { self.rawValue = value }

    /// Swift's string order, which is the same on every platform and locale: what makes
    /// "deterministic tie-break by name" mean the same thing on every node.
    public static func < (lhs: MemberName, rhs: MemberName) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }
}
