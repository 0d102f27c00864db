import CLibUV
import Synchronization

/// Lets any thread hand work to the loop thread: tasks are queued under a mutex and the loop is
/// woken with `uv_async_send`, which coalesces bursts into one wake-up.
public final class LoopTaskQueue: LoopHandle, @unchecked Sendable {
    // @unchecked Sendable: `enqueue` touches only `pending` (behind its Mutex) and
    // `uv_async_send`, which libuv documents as thread-safe; all else is loop-confined.
    private let pending = Mutex<[@Sendable () -> Void]>([])

    public init(loop: EventLoop) throws(LoopError) {
        super.init(loop: loop, handleType: uv_async_t.self)
        let status = uv_async_init(loop.uvLoop, rawHandle.assumingMemoryBound(to: uv_async_t.self)) { async in
            LoopHandle.owner(of: async, as: LoopTaskQueue.self).drain()
        }
        guard status == 0 else {
            discardUninitializedHandle()
            throw LoopError(code: status, operation: "uv_async_init")
        }
        adoptInitializedHandle()
    }

    /// Safe from any thread. Tasks run on the loop in the order they were enqueued.
    public func enqueue(_ task: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(task) }
        uv_async_send(rawHandle.assumingMemoryBound(to: uv_async_t.self))
    }

    private func drain() {
        let tasks = pending.withLock { tasks -> [@Sendable () -> Void] in
            defer { tasks.removeAll(keepingCapacity: true) }
            return tasks
        }
        for task in tasks { task() }
    }
}
