/// Remembers the nonces of signed requests for as long as their signatures are accepted, so
/// that a request captured on the network and sent again is refused. Pure: the clock comes in.
/// Each admission forgets what has aged out since the last one, so the work per request stays
/// small however busy the node was before.
public struct ReplayGuard {
    /// A signature is accepted this long either side of the receiver's clock, so its nonce
    /// must be remembered until its time is that far in the past.
    public let windowMilliseconds: Int64
    private var seen: Set<String> = []
    /// Nonces in the order admitted, with the time after which they may be forgotten.
    private var expiries: [(at: Int64, nonce: String)] = []
    private var oldest = 0

    public init(windowMilliseconds: Int64 = InternalRequestSigner.windowMilliseconds) {
        self.windowMilliseconds = windowMilliseconds
    }

    public var remembered: Int { seen.count }

    /// Whether the request signed at `signedAt` with `nonce` is new; it is remembered if so.
    public mutating func admit(nonce: String, signedAt: Int64, nowMilliseconds: Int64) -> Bool {
        forget(before: nowMilliseconds)
        guard seen.insert(nonce).inserted else { return false }
        // Admitted in arrival order, so expiries are kept as a queue; a signature may carry a
        // time up to the window ahead of ours, and is accepted until the window after it.
        expiries.append((max(signedAt, nowMilliseconds) + windowMilliseconds, nonce))
        return true
    }

    private mutating func forget(before now: Int64) {
        while oldest < expiries.count, expiries[oldest].at < now {
            seen.remove(expiries[oldest].nonce)
            oldest += 1
        }
        if oldest > 1_024, oldest * 2 > expiries.count {
            expiries.removeFirst(oldest)
            oldest = 0
        }
    }
}
