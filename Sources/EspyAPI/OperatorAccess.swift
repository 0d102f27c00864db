import EspyHTTP

/// Who may take operator actions (remove a member, make a node leave, import with kept
/// `server_time`): a client presenting one of `[http] operator_tokens` as a bearer token, or,
/// when none is configured, a client on the node's own host only.
public struct OperatorAccess: Sendable {
    private let tokens: [[UInt8]]

    /// Tokens of at least this many characters: a guess must not be practical.
    public static let minimumTokenLength = 16

    public init(tokens: [String]) {
        self.tokens = tokens.map { Array($0.utf8) }
    }

    /// The answer refusing `request` for `action`, or nil when it may go ahead.
    public func refusal(of request: HTTPRequest, action: String) -> HTTPResponse? {
        guard !tokens.isEmpty else {
            guard let host = request.peerHost, Self.isLoopback(host) else {
                return .error(.forbidden, "\(action) is an operator action; without [http] operator_tokens this node takes it from its own host only")
            }
            return nil
        }
        let prefix = Array("Bearer ".utf8)
        guard let header = request.headers["authorization"].map({ Array($0.utf8) }), header.starts(with: prefix) else {
            return Self.unauthorized("\(action) is an operator action: send 'Authorization: Bearer <token>' with one of [http] operator_tokens")
        }
        let presented = Array(header.dropFirst(prefix.count))
        guard tokens.contains(where: { Self.constantTimeEqual($0, presented) }) else {
            return Self.unauthorized("the bearer token is none of this node's [http] operator_tokens")
        }
        return nil
    }

    private static func unauthorized(_ message: String) -> HTTPResponse {
        .error(.unauthorized, message, headers: [("WWW-Authenticate", #"Bearer realm="espymetrics operator""#)])
    }

    public static func isLoopback(_ host: String) -> Bool {
        host.hasPrefix("127.") || host == "::1" || host.hasPrefix("::ffff:127.")
    }

    /// Compares every byte whatever the first difference, so timing does not tell how much of a
    /// guess was right.
    private static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
