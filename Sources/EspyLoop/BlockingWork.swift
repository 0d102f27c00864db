import CLibUV

extension EventLoop {
    /// Runs `work` on libuv's thread pool and then `completion` with its result on this loop's
    /// thread: the way blocking calls (SQLite, file I/O) stay off the loop.
    ///
    /// `work` must not touch loop-bound objects; it gets its inputs by value.
    public func runBlocking<Result>(_ work: @escaping () -> Result, completion: @escaping (Result) -> Void) {
        let job = BlockingJob(work: work, completion: completion)
        let request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
        request.initialize(to: uv_work_t())
        request.pointee.data = Unmanaged.passRetained(job as AnyBlockingJob).toOpaque()
        let status = uv_queue_work(uvLoop, request, { request in
            Unmanaged<AnyBlockingJob>.fromOpaque(request!.pointee.data!).takeUnretainedValue().runWork()
        }, { request, _ in
            let job = Unmanaged<AnyBlockingJob>.fromOpaque(request!.pointee.data!).takeRetainedValue()
            request!.deallocate()
            job.complete()
        })
        precondition(status == 0, "uv_queue_work cannot fail for a valid loop and callback")
    }
}

/// Type-erased so one pair of C callbacks serves every result type.
private class AnyBlockingJob {
    func runWork() {}
    func complete() {}
}

private final class BlockingJob<Result>: AnyBlockingJob {
    private var work: (() -> Result)?
    private var completion: ((Result) -> Void)?
    private var result: Result?

    init(work: @escaping () -> Result, completion: @escaping (Result) -> Void) {
        self.work = work
        self.completion = completion
    }

    // Runs on a pool thread; libuv's queue hand-off orders it before `complete` on the loop thread.
    override func runWork() {
        result = work?()
        work = nil
    }

    override func complete() {
        completion?(result!)
        completion = nil
        result = nil
    }
}
