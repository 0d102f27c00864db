/// A configuration problem, naming the key (`http.address`) so the operator knows where to look.
public struct ConfigError: Error, CustomStringConvertible {
    public let key: String
    public let reason: String

    public init(key: String, _ reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { key.isEmpty ? reason : "\(key): \(reason)" }
}
