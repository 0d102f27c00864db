import EspyGossip

extension GossipSimulation {
    /// The first node of each datacenter: the seeds every other node joins through.
    public var seedNodes: [Int] {
        configuration.datacenterSizes.indices.map { nodes(inDatacenter: $0)[0] }
    }

    /// Starts the seeds at the current time (each joining the others), and every other node
    /// at a random moment within the next `spreadMilliseconds`, joining through the seeds.
    public func startCluster(spreadMilliseconds: UInt64) {
        let seeds = seedNodes
        var schedule = SimulationRandom(seed: configuration.seed ^ 0x5eed)
        for node in 0..<nodeCount {
            if seeds.contains(node) {
                start(node, seeds: seeds.filter { $0 != node })
            } else {
                let delay = spreadMilliseconds == 0 ? 0 : UInt64.random(in: 0..<spreadMilliseconds, using: &schedule)
                start(node, at: now.advanced(byMilliseconds: delay), seeds: seeds)
            }
        }
    }
}
