/// A storage failure with SQLite's result code and the statement or step that failed.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "storage error \(code): \(message)" }
}
