import CLibUV

/// Base of every object that owns one libuv handle.
///
/// libuv handles must not move and must stay valid until their close callback has run, so each
/// is heap-allocated; while open, `handle->data` holds a retained reference to its owner, which
/// keeps the owner alive for callbacks. That reference is released, and the memory freed, only in
/// the close callback — never in `deinit`.
open class LoopHandle {
    public let loop: EventLoop
    let rawHandle: UnsafeMutableRawPointer
    public private(set) var isClosing = false
    /// libuv has let go of the handle (its close callback ran).
    public private(set) var isClosed = false
    private var onClose: (() -> Void)?

    init<Handle>(loop: EventLoop, handleType: Handle.Type) {
        self.loop = loop
        self.rawHandle = UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<Handle>.size, alignment: MemoryLayout<Handle>.alignment)
        rawHandle.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Handle>.size)
    }

    /// Call once the concrete `uv_*_init` succeeded: from then on the handle must be closed.
    func adoptInitializedHandle() {
        uvHandle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        loop.openHandles += 1
    }

    /// For an init that failed: the handle was never registered with the loop.
    func discardUninitializedHandle() {
        rawHandle.deallocate()
    }

    var uvHandle: UnsafeMutablePointer<uv_handle_t> { rawHandle.assumingMemoryBound(to: uv_handle_t.self) }

    static func owner<T: LoopHandle>(of handle: UnsafeMutableRawPointer?, as _: T.Type) -> T {
        let data = handle!.assumingMemoryBound(to: uv_handle_t.self).pointee.data!
        return Unmanaged<T>.fromOpaque(data).takeUnretainedValue()
    }

    /// Closes the handle; `completion` runs on the loop once libuv has let go of it. Idempotent.
    public func close(_ completion: (() -> Void)? = nil) {
        if isClosed {
            completion?()
            return
        }
        guard !isClosing else {
            if let completion {
                let previous = onClose
                onClose = { previous?(); completion() }
            }
            return
        }
        isClosing = true
        onClose = completion
        willClose()
        uv_close(uvHandle) { handle in
            let owner = Unmanaged<LoopHandle>.fromOpaque(handle!.pointee.data!).takeRetainedValue()
            handle!.pointee.data = nil
            owner.loop.openHandles -= 1
            owner.rawHandle.deallocate()
            owner.isClosed = true
            let completion = owner.onClose
            owner.onClose = nil
            owner.didClose()
            completion?()
        }
    }

    /// Subclasses drop their callbacks here to break reference cycles through closures.
    open func willClose() {}
    open func didClose() {}

    /// Keeps the loop from waiting for this handle alone (for housekeeping timers and signals).
    public func unreference() {
        if !isClosing { uv_unref(uvHandle) }
    }
}
