import CLibUV

/// Delivers a POSIX signal (SIGINT, SIGTERM) as a callback on the loop thread, where it is safe
/// to start an orderly shutdown.
public final class SignalWatcher: LoopHandle {
    private var callback: ((Int32) -> Void)?

    public init(loop: EventLoop, signal: Int32, _ callback: @escaping (Int32) -> Void) throws(LoopError) {
        super.init(loop: loop, handleType: uv_signal_t.self)
        let handle = rawHandle.assumingMemoryBound(to: uv_signal_t.self)
        let status = uv_signal_init(loop.uvLoop, handle)
        guard status == 0 else {
            discardUninitializedHandle()
            throw LoopError(code: status, operation: "uv_signal_init")
        }
        adoptInitializedHandle()
        self.callback = callback
        try LoopError.check(uv_signal_start(handle, { handle, signal in
            LoopHandle.owner(of: handle, as: SignalWatcher.self).callback?(signal)
        }, signal), "uv_signal_start(\(signal))")
    }

    public override func willClose() { callback = nil }
}
