import EspyTestRandom

/// The simulation's seeded stream (SplitMix64), so runs are reproducible: the same seed gives
/// the same stream on every platform and in every process.
public struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var source: SplitMix64

    public init(seed: UInt64) {
        source = SplitMix64(seed: seed)
    }

    public mutating func next() -> UInt64 { source.next() }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool {
        probability > 0 && Double.random(in: 0..<1, using: &self) < probability
    }

    /// A generator for a sub-stream, so adding draws in one place does not shift another.
    public mutating func fork() -> SimulationRandom {
        SimulationRandom(seed: next())
    }
}
