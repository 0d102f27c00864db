/// Why a byte sequence is not an acceptable JSON document, and where the problem starts.
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    /// Byte offset into the scanned input.
    public let offset: Int

    public init(_ reason: String, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason) at byte \(offset)" }
}
