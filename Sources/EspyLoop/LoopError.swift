import CLibUV

/// A libuv failure, with libuv's own name for it (`EADDRINUSE`) and what was being attempted.
public struct LoopError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    public var name: String { String(cString: uv_err_name(code)) }

    public var description: String { "\(operation): \(name) (\(String(cString: uv_strerror(code))))" }

    /// Throws when a libuv call returned a negative status.
    @discardableResult
    static func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(LoopError) -> Int32 {
        if status < 0 { throw LoopError(code: status, operation: operation()) }
        return status
    }

    public static var endOfFile: Int32 { Int32(UV_EOF.rawValue) }
}
