import CLibUV

/// A libuv timer. Decisions belong to the caller's state machine; the timer only says "now".
public final class Timer: LoopHandle {
    private var callback: (() -> Void)?

    /// Cannot fail: `uv_timer_init` only fills in the handle.
    public init(loop: EventLoop) {
        super.init(loop: loop, handleType: uv_timer_t.self)
        let status = uv_timer_init(loop.uvLoop, rawHandle.assumingMemoryBound(to: uv_timer_t.self))
        precondition(status == 0, "uv_timer_init failed: \(status)")
        adoptInitializedHandle()
    }

    /// Fires after `milliseconds`, then every `repeatMilliseconds` if non-zero. Restarting replaces the schedule.
    public func start(after milliseconds: UInt64, repeat repeatMilliseconds: UInt64 = 0, _ callback: @escaping () -> Void) {
        precondition(!isClosing, "timer is closed")
        self.callback = callback
        uv_timer_start(rawHandle.assumingMemoryBound(to: uv_timer_t.self), { timer in
            LoopHandle.owner(of: timer, as: Timer.self).callback?()
        }, milliseconds, repeatMilliseconds)
    }

    public func stop() {
        guard !isClosing else { return }
        uv_timer_stop(rawHandle.assumingMemoryBound(to: uv_timer_t.self))
    }

    public override func willClose() { callback = nil }
}
