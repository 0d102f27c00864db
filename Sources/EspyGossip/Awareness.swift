/// Lifeguard's local health (memberlist `awareness`): a score that rises when our own probes
/// fail in ways that point at us rather than the target, and slows our probing while it is up.
///
/// A node whose CPU or network is struggling misses acks and would wrongly accuse healthy
/// peers; stretching its probe interval gives acks more time and makes it a slower accuser.
struct Awareness: Sendable {
    /// The score never exceeds `maximumMultiplier − 1`, so timeouts grow at most this many times.
    let maximumMultiplier: Int
    private(set) var score = 0

    init(maximumMultiplier: Int) {
        self.maximumMultiplier = max(1, maximumMultiplier)
    }

    /// Adds `delta`, clamped to 0…maximumMultiplier − 1.
    mutating func apply(_ delta: Int) {
        score = min(max(score + delta, 0), maximumMultiplier - 1)
    }

    /// `milliseconds × (score + 1)`.
    func scale(_ milliseconds: UInt64) -> UInt64 {
        milliseconds * UInt64(score + 1)
    }
}
