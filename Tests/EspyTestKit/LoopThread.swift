import EspyLoop
import Foundation

/// Runs an EventLoop on its own thread so a test can talk to loop-bound code with blocking
/// sockets from the test thread. Everything touching loop objects goes through `sync`.
public final class LoopThread: @unchecked Sendable {
    // @unchecked Sendable: the loop and its objects are only touched on `thread`, via `queue`.
    public let loop: EventLoop
    private let queue: LoopTaskQueue
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    public init() throws {
        loop = try EventLoop()
        queue = try LoopTaskQueue(loop: loop)
    }

    /// Starts the loop thread after `setUp` ran on it (create servers there).
    public func start() {
        let thread = Thread { [self] in
            loop.run()
            finished.signal()
        }
        thread.start()
        self.thread = thread
    }

    /// Runs `body` on the loop thread and waits for its result.
    public func sync<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, Error>!
        queue.enqueue {
            result = Result { try body() }
            done.signal()
        }
        done.wait()
        return try result.get()
    }

    /// Runs `body` on the loop thread; `body` calls its argument (on the loop) when its
    /// asynchronous work is done. Waits for that, up to `timeout` seconds.
    public func await<T>(timeout: TimeInterval = 30, _ body: @escaping (@escaping (T) -> Void) -> Void) -> T? {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: T?
        queue.enqueue {
            body { value in
                result = value
                done.signal()
            }
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return result
    }

    /// Runs `cleanup` on the loop (it must close every handle it owns), then stops and joins.
    public func stop(_ cleanup: @escaping () -> Void = {}) {
        queue.enqueue { [queue] in
            cleanup()
            queue.close()
        }
        finished.wait()
        loop.close()
    }
}
