import EspyCore
import EspyHTTP
import Metrics

/// Who may call `/internal/v1/*`. With a cluster key, requests signed with it, each once; without
/// one, only requests from the addresses of members and from the node's own host (the cluster
/// runs without a key, and the node said so at start). Loopback counts as own host since nodes
/// sharing one (a local cluster on 127.0.0.x) connect from whichever loopback address the
/// kernel picks, not the one they advertise. Refusals are counted, and logged at most once a minute.
public struct InternalAccess {
    public enum Policy {
        case signed(InternalRequestSigner)
        /// The member addresses are the cluster layer's; asked per request.
        case membersOnly(isMemberHost: (String) -> Bool)
    }

    public let policy: Policy
    private var replays = ReplayGuard()
    private let refused = Counter(label: "espymetrics_internal_requests_refused_total")

    public init(policy: Policy) { self.policy = policy }

    /// Why `request` may not be served (the status to answer with and a reason), or nil.
    public mutating func refusal(of request: HTTPRequest) -> (status: HTTPStatus, reason: String)? {
        let refusal = decide(request)
        if refusal != nil { refused.increment() }
        return refusal
    }

    private mutating func decide(_ request: HTTPRequest) -> (status: HTTPStatus, reason: String)? {
        switch policy {
        case .membersOnly(let isMemberHost):
            guard let host = request.peerHost, isMemberHost(host) || OperatorAccess.isLoopback(host) else {
                return (.forbidden, "without a cluster key, internal requests are served to cluster members only, and \(request.peerHost ?? "this peer") is none")
            }
            return nil
        case .signed(let signer):
            let now = Timestamp.now().microseconds / 1_000
            switch signer.check(request.headers[InternalRequestSigner.header], method: request.method, target: request.target,
                                body: request.body, nowMilliseconds: now) {
            case .failure(let refusal):
                return (.unauthorized, refusal.description)
            case .success(let signed):
                guard replays.admit(nonce: signed.nonce, signedAt: signed.milliseconds, nowMilliseconds: now) else {
                    return (.unauthorized, "this signed request was already served once (a replay)")
                }
                return nil
            }
        }
    }
}
