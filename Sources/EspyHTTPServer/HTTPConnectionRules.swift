import EspyHTTP

/// What an `HTTPConnectionMachine` enforces, taken once from the server's settings so that each
/// connection copies a few values instead of deriving them per event.
struct HTTPConnectionRules {
    var idleTimeoutMilliseconds: UInt64
    var requestTimeoutMilliseconds: UInt64
    var reservedFirstRequestMilliseconds: UInt64
    var reservedPathPrefixes: [String]
    var maxPipelinedRequests: Int
    var limits: HTTPRequestParser.Limits
    /// How long a lingering close waits for the client's FIN before closing anyway.
    var lingerMilliseconds: UInt64 = 2_000
    /// The message of the 503 a refused (or reserved-only) connection gets.
    var refusalMessage: String
    /// Read for the access log's durations; nil when nothing logs responses, so the hot path
    /// neither reads a clock nor emits log actions.
    var accessLogClock: (() -> UInt64)?

    init(settings: HTTPServerSettings, refusalMessage: String, accessLogClock: (() -> UInt64)?) {
        idleTimeoutMilliseconds = settings.idleTimeoutMilliseconds
        requestTimeoutMilliseconds = settings.requestTimeoutMilliseconds
        reservedFirstRequestMilliseconds = settings.reservedFirstRequestMilliseconds
        reservedPathPrefixes = settings.reservedPathPrefixes
        maxPipelinedRequests = settings.maxPipelinedRequests
        limits = settings.limits
        self.refusalMessage = refusalMessage
        self.accessLogClock = settings.onResponse == nil ? nil : accessLogClock
    }

    func isReserved(_ path: String) -> Bool {
        reservedPathPrefixes.contains { path.hasPrefix($0) }
    }
}
