import EspyAPI
import EspyCluster
import EspyCore
import EspyGossip
import EspyGossipWire
import EspyLoop
import EspyStorage
import Logging

/// The text forms of typed configuration values. The TOML file and the `serve` flags both read
/// through these, so a bad value is refused once, at load, with the same message naming the key.
public enum ConfigValue {
    public static func address(_ text: String, key: String) throws(ConfigError) -> SocketAddress {
        do { return try SocketAddress(parsing: text) } catch {
            throw ConfigError(key: key, "'\(text)' is not a numeric HOST:PORT address (e.g. 127.0.0.1:8888)")
        }
    }

    /// An empty text means "not set": the key's fallback applies.
    static func optionalAddress(_ text: String, key: String) throws(ConfigError) -> SocketAddress? {
        text.isEmpty ? nil : try address(text, key: key)
    }

    public static func addresses(_ texts: [String], key: String) throws(ConfigError) -> [SocketAddress] {
        var addresses: [SocketAddress] = []
        for text in texts { addresses.append(try address(text, key: key)) }
        return addresses
    }

    /// No keys: plaintext gossip.
    public static func keyring(_ base64Keys: [String], key: String) throws(ConfigError) -> Keyring? {
        guard !base64Keys.isEmpty else { return nil }
        do { return try Keyring(base64Keys: base64Keys) } catch {
            throw ConfigError(key: key, "\(error)")
        }
    }

    /// The cluster keyring, checked: every key 32 bytes of base64.
    public static func clusterKeys(_ base64Keys: [String], key: String) throws(ConfigError) -> [String] {
        guard !base64Keys.isEmpty else { return [] }
        do { _ = try InternalRequestSigner(base64Keys: base64Keys) } catch {
            throw ConfigError(key: key, "\(error)")
        }
        return base64Keys
    }

    /// Operator tokens, checked: long enough to resist guessing, and nothing a header would mangle.
    public static func operatorTokens(_ tokens: [String], key: String) throws(ConfigError) -> [String] {
        for (index, token) in tokens.enumerated() {
            guard token.count >= OperatorAccess.minimumTokenLength,
                  token.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
                throw ConfigError(key: key, "token \(index + 1) must be at least \(OperatorAccess.minimumTokenLength) printable ASCII characters without spaces (espymetrics keygen prints one)")
            }
        }
        return tokens
    }

    public static func logLevel(_ text: String, key: String) throws(ConfigError) -> Logger.Level {
        guard let level = Logger.Level(rawValue: text) else {
            throw ConfigError(key: key, "'\(text)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return level
    }

    /// Serf's names for memberlist's presets (`serf agent -profile=...`).
    static let gossipProfiles: [String: GossipProfile] = ["lan": .lan, "wan": .wan, "local": .local]

    static func gossipProfile(_ text: String, key: String) throws(ConfigError) -> GossipProfile {
        guard let profile = gossipProfiles[text] else { throw ConfigError(key: key, "'\(text)' is not lan, wan or local") }
        return profile
    }

    static func writeQuorum(_ text: String, key: String) throws(ConfigError) -> WriteQuorum {
        do { return try WriteQuorum(configText: text) } catch {
            throw ConfigError(key: key, "'\(text)' is not majority, one or all")
        }
    }

    static func readConsistency(_ text: String, key: String) throws(ConfigError) -> ReadConsistency {
        guard let consistency = ReadConsistency(text: text) else { throw ConfigError(key: key, "'\(text)' is not \(ReadConsistency.choices)") }
        return consistency
    }

    static func dimensions(_ texts: [String], key: String) throws(ConfigError) -> [FieldPath] {
        var paths: [FieldPath] = []
        for text in texts {
            do { paths.append(try FieldPath(parsing: text)) } catch {
                throw ConfigError(key: key, "\(error)")
            }
        }
        guard Set(paths).count == paths.count else { throw ConfigError(key: key, "lists a path twice") }
        return paths
    }

    static func durability(_ text: String, key: String) throws(ConfigError) -> ShardSettings.Durability {
        guard let durability = ShardSettings.Durability(rawValue: text) else {
            throw ConfigError(key: key, "'\(text)' is not 'full' or 'normal'")
        }
        return durability
    }
}
