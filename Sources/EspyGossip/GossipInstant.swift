/// A point on the shell's monotonic clock, in whole milliseconds.
///
/// The core never reads a clock: every event carries `now`, so a simulator can run hours of
/// virtual time in seconds and a test can place events to the millisecond. The origin is
/// arbitrary (the shell's process start, say); only differences matter.
public struct GossipInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Milliseconds since the shell's chosen origin.
    public var milliseconds: UInt64

    public init(milliseconds: UInt64) {
        self.milliseconds = milliseconds
    }

    public static let zero = GossipInstant(milliseconds: 0)

    /// This instant plus `delta` milliseconds.
    public func advanced(byMilliseconds delta: UInt64) -> GossipInstant {
        GossipInstant(milliseconds: milliseconds + delta)
    }

    /// Milliseconds from `earlier` to this instant; 0 if `earlier` is later (saturating, since
    /// a duration cannot be negative and callers only compare it against timeouts).
    public func milliseconds(since earlier: GossipInstant) -> UInt64 {
        milliseconds >= earlier.milliseconds ? milliseconds - earlier.milliseconds : 0
    }

    public static func < (lhs: GossipInstant, rhs: GossipInstant) -> Bool {
        lhs.milliseconds < rhs.milliseconds
    }

    /// Seconds with millisecond precision, e.g. "12.345s".
    public var description: String {
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }
}
