import CLibUV

/// One libuv loop, owned by the thread that calls `run()`. Every socket, timer and callback of a
/// node lives on it; objects bound to a loop must only be touched from that thread.
public final class EventLoop {
    let uvLoop: UnsafeMutablePointer<uv_loop_t>
    /// Scratch space for socket reads: libuv asks for a buffer right before each read callback,
    /// and callbacks never interleave on one thread, so a single buffer serves every connection.
    let readBuffer: UnsafeMutableRawBufferPointer
    var openHandles = 0

    public static let readBufferSize = 64 * 1024

    /// The process must ignore SIGPIPE (the executable's `main` does): libuv writes with
    /// writev(2), so a peer that resets a connection would otherwise end the process.
    public init() throws(LoopError) {
        uvLoop = .allocate(capacity: 1)
        let status = uv_loop_init(uvLoop)
        guard status == 0 else {
            uvLoop.deallocate()
            throw LoopError(code: status, operation: "uv_loop_init")
        }
        readBuffer = .allocate(byteCount: EventLoop.readBufferSize, alignment: 16)
    }

    /// Runs until no referenced handle or request is left, or `stop()` is called.
    public func run() {
        uv_run(uvLoop, UV_RUN_DEFAULT)
    }

    /// Runs one iteration, waiting for at least one event; for tests that step the loop.
    @discardableResult
    public func runOnce() -> Bool {
        uv_run(uvLoop, UV_RUN_ONCE) != 0
    }

    public func stop() { uv_stop(uvLoop) }

    /// A monotonic clock in microseconds (uv_hrtime), for durations finer than `nowMilliseconds`.
    public static func monotonicMicroseconds() -> UInt64 { uv_hrtime() / 1000 }

    /// Milliseconds of libuv's cached monotonic clock (updated once per loop iteration).
    public var nowMilliseconds: UInt64 { uv_now(uvLoop) }

    /// Closes the loop after every handle was closed; returns false if some are still open.
    @discardableResult
    public func close() -> Bool {
        // Let pending close callbacks run before checking.
        uv_run(uvLoop, UV_RUN_NOWAIT)
        guard uv_loop_close(uvLoop) == 0 else { return false }
        uvLoop.deallocate()
        readBuffer.deallocate()
        return true
    }

    public var handleCount: Int { openHandles }
}
