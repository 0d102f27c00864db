import EspyAPI
import EspyCore
import EspyCoordination
import EspyHTTPClient

extension Node {
    var operatorAccess: OperatorAccess { OperatorAccess(tokens: config.http.operatorTokens) }

    /// With a cluster key, every internal request this node sends is signed and every one it
    /// serves must be; without one, it serves internal requests to member addresses and its own
    /// host only, and says at start that anyone on those can reach its shard.
    func secureInternalRequests(api: InternalAPI, client: HTTPClient, coordinator: ClusterCoordinator) {
        guard !config.cluster.keys.isEmpty, let signer = try? InternalRequestSigner(base64Keys: config.cluster.keys) else {
            api.access = InternalAccess(policy: .membersOnly(isMemberHost: { [unowned coordinator] in coordinator.memberHosts.contains($0) }))
            logger.warning("the cluster runs without a key: internal requests are served unsigned to any client on a member's address or on this host; set [cluster] keys (espymetrics keygen makes one), see docs/operations.md, \"Security\"")
            return
        }
        api.access = InternalAccess(policy: .signed(signer))
        client.headersFor = { method, target, body in
            [(InternalRequestSigner.header, signer.signature(method: method, target: target, body: body,
                                                             nowMilliseconds: Timestamp.now().microseconds / 1_000))]
        }
    }
}
