extension ClusterTraffic {
    /// Hints this node still keeps, over every replica.
    public var hintsKept: Int { hints.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } } }

    /// `HintedHandoff.tick`: the first replica (by name) that is routable again gets its hints,
    /// oldest first, a batch per request, until none are left or a request fails.
    func hintTick(_ node: Int) {
        guard !hintReplaying[node], let membership = membership(node) else { return }
        let pending = hints[node].filter { !$0.value.isEmpty }.keys.sorted { simulation.name($0) < simulation.name($1) }
        guard let target = pending.first(where: { membership.routable.contains(memberName($0)) }) else { return }
        hintReplaying[node] = true
        replayHints(from: node, to: target)
    }

    private func replayHints(from node: Int, to target: Int) {
        let batch = Array(hints[node][target, default: []].prefix(settings.hintBatchSize))
        guard !batch.isEmpty else {
            hintReplaying[node] = false
            return
        }
        call(from: node, to: target, serve: { [unowned self] in shards[target].write(batch, partitionCount: partitionCount) }) {
            [unowned self] stored in
            guard stored != nil else {
                hintReplaying[node] = false
                return
            }
            hints[node][target]!.removeFirst(batch.count)
            hintsDelivered += batch.count
            replayHints(from: node, to: target)
        }
    }
}
