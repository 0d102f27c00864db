import EspyAPI
import EspyCore
import EspyHTTP
import EspyLoop

/// `GET /v1/cluster/views`: whether the members agree on placement. Each alive member is asked
/// for its `/v1/cluster/partitions` and its `view_digest` reported beside this node's own, so an
/// operator (and the dashboard) sees at once which nodes place partitions differently. An
/// operator view asked now and then: its cost, one small request per member, grows with the
/// cluster, which is why nothing else asks it.
extension Node {
    static let viewRequestTimeoutMilliseconds: UInt64 = 2_000
    private static let viewFields = JSONPathExtractor(paths: ["view_digest", "under_replicated", "fully_replicated"].map {
        try! FieldPath(parsing: $0)
    })

    func serveViews(_ request: HTTPRequest, _ reply: @escaping (HTTPResponse) -> Void) {
        if let refusal = V1API.refusedParameters(request, allowed: []) { return reply(refusal) }
        guard let gossip, let coordinator, let client = httpClient else { return reply(.error(.serviceUnavailable, "starting")) }
        let own = coordinator.partitionSummary
        var views = [config.node.name: MemberView(digest: own.viewDigest, underReplicated: own.underReplicated,
                                                  fullyReplicated: coordinator.fullyReplicatedCount)]
        let peers = gossip.members.values.filter { $0.status == .alive && $0.name.rawValue != config.node.name }
        var waiting = peers.count
        let selfName = config.node.name
        let finish = {
            var answer = JSONObject()
            answer.add("self", selfName)
            answer.add("view_digest", own.viewDigest)
            answer.add("agreeing", views.values.count { $0.digest == own.viewDigest })
            answer.add("asked", views.count)
            answer.add("nodes", array: views.keys.sorted().map { views[$0]!.json(node: $0) })
            reply(.json(.ok, answer.body()))
        }
        guard waiting > 0 else { return finish() }
        let answered = { (name: String, view: MemberView) in
            views[name] = view
            waiting -= 1
            if waiting == 0 { finish() }
        }
        for peer in peers {
            let name = peer.name.rawValue
            guard let address = try? SocketAddress(parsing: peer.address) else {
                answered(name, MemberView(error: "no usable HTTP address '\(peer.address)'"))
                continue
            }
            client.request(.get, "/v1/cluster/partitions", to: address, timeoutMilliseconds: Node.viewRequestTimeoutMilliseconds) { result in
                switch result {
                case .success(let response) where response.status == 200:
                    let fields = response.body.withUnsafeBufferPointer { Node.viewFields.groupingKeys(from: $0) }
                    answered(name, MemberView(digest: fields[0], underReplicated: Int(fields[1] ?? ""), fullyReplicated: Int(fields[2] ?? "")))
                case .success(let response):
                    answered(name, MemberView(error: "answered \(response.status)"))
                case .failure(let error):
                    answered(name, MemberView(error: "\(error)"))
                }
            }
        }
    }
}

/// One member's answer, or why there is none.
private struct MemberView {
    var digest: String?
    var underReplicated: Int?
    var fullyReplicated: Int?
    var error: String?

    func json(node: String) -> JSONObject {
        var item = JSONObject()
        item.add("node", node)
        if let digest { item.add("view_digest", digest) }
        if let underReplicated { item.add("under_replicated", underReplicated) }
        if let fullyReplicated { item.add("fully_replicated", fullyReplicated) }
        if let error { item.add("error", error) }
        return item
    }
}
