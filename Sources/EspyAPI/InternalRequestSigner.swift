import Crypto
import EspyCore
import EspyHTTP
import Foundation

/// Signs and checks node-to-node requests with the cluster key: HMAC-SHA256 over the method,
/// the target, the body's SHA-256, a timestamp and a nonce, carried in `X-Espy-Signature` as
/// `v1 <unix ms> <nonce hex> <mac hex>`. A keyring, as gossip's: the first key signs, every
/// key verifies, so a new key is added everywhere, then made first, then the old one removed,
/// and the cluster answers throughout.
public struct InternalRequestSigner {
    public static let header = "X-Espy-Signature"
    /// How far a signature's time may be from the receiver's clock, either way.
    public static let windowMilliseconds: Int64 = 30_000

    private let keys: [SymmetricKey]

    /// Keys of 32 bytes in standard base64, as `espymetrics keygen` prints them.
    public init(base64Keys: [String]) throws(KeyError) {
        guard !base64Keys.isEmpty else { throw KeyError("the cluster keyring is empty") }
        var keys: [SymmetricKey] = []
        for (index, text) in base64Keys.enumerated() {
            guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
                throw KeyError("cluster key \(index + 1) is not 32 bytes in base64 (espymetrics keygen prints one)")
            }
            keys.append(SymmetricKey(data: bytes))
        }
        self.keys = keys
    }

    public struct KeyError: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The header value for a request made now.
    public func signature(method: HTTPMethod, target: String, body: [UInt8], nowMilliseconds: Int64,
                          nonce: [UInt8] = (0..<16).map { _ in UInt8.random(in: .min ... .max) }) -> String {
        let nonceText = Hex.encode(nonce)
        let mac = HMAC<SHA256>.authenticationCode(for: Self.signed(method, target, body, nowMilliseconds, nonceText), using: keys[0])
        return "v1 \(nowMilliseconds) \(nonceText) " + Hex.encode(mac)
    }

    /// What a checked signature says, for the replay guard.
    public struct Signed: Equatable, Sendable {
        public let milliseconds: Int64
        public let nonce: String
    }

    /// Checks `value` (the header, nil if absent) against the request; the reason it fails, or
    /// the time and nonce it carries.
    public func check(_ value: String?, method: HTTPMethod, target: String, body: [UInt8],
                      nowMilliseconds: Int64) -> Result<Signed, Refusal> {
        guard let value else { return .failure(Refusal("no \(Self.header) header; this node requires the cluster key")) }
        let parts = value.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let time = Int64(parts[1]), parts[2].utf8.count == 32,
              let mac = Hex.decode(parts[3]), mac.count == 32 else {
            return .failure(Refusal("\(Self.header) is not 'v1 <unix ms> <32 hex nonce> <64 hex mac>'"))
        }
        guard abs(nowMilliseconds - time) <= Self.windowMilliseconds else {
            return .failure(Refusal("signed at \(time) ms, \(abs(nowMilliseconds - time)) ms from this node's clock; at most \(Self.windowMilliseconds) ms are accepted"))
        }
        let nonce = String(parts[2])
        let message = Self.signed(method, target, body, time, nonce)
        guard keys.contains(where: { HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: $0) }) else {
            return .failure(Refusal("the signature does not match any cluster key of this node"))
        }
        return .success(Signed(milliseconds: time, nonce: nonce))
    }

    public struct Refusal: Error, Equatable, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    private static func signed(_ method: HTTPMethod, _ target: String, _ body: [UInt8], _ time: Int64, _ nonce: String) -> [UInt8] {
        let digest = Hex.encode(SHA256.hash(data: body))
        return Array("\(method)\n\(target)\n\(digest)\n\(time)\n\(nonce)".utf8)
    }
}
