/// A storage failure with SQLite's result code and the statement or step that failed.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    /// The configuration key the data contradicts, when the fix is in the configuration.
    public let configurationKey: String?

    public init(code: Int32, message: String, configurationKey: String? = nil) {
        self.code = code
        self.message = message
        self.configurationKey = configurationKey
    }

    public var description: String { "storage error \(code): \(message)" }
}
