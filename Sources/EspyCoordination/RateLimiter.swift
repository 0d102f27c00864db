/// A token bucket over the loop's clock: at most `perSecond` units, with bursts of one second.
struct RateLimiter {
    let perSecond: Int
    private var available: Double
    private var refilledAt: UInt64

    init(perSecond: Int, now: UInt64) {
        self.perSecond = max(1, perSecond)
        available = Double(self.perSecond)
        refilledAt = now
    }

    /// Takes `units`; returns how many milliseconds to wait before using them (0: go now).
    mutating func take(_ units: Int, now: UInt64) -> UInt64 {
        available = min(Double(perSecond), available + Double(now &- refilledAt) * Double(perSecond) / 1000)
        refilledAt = now
        available -= Double(units)
        return available >= 0 ? 0 : UInt64((-available * 1000 / Double(perSecond)).rounded(.up))
    }
}
