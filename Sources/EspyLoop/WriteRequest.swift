import CLibUV

/// One heap block per pending write: the `uv_write_t`/`uv_udp_send_t` request followed by a copy
/// of the bytes, which libuv reads after the caller's buffer may be gone. The request's `data`
/// holds the retained completion, if any.
struct WriteRequest<Request> {
    let pointer: UnsafeMutableRawPointer
    let bytes: UnsafeMutableRawBufferPointer

    private static var headerSize: Int {
        (MemoryLayout<Request>.size + 15) & ~15
    }

    init(copying source: UnsafeRawBufferPointer, completion: ((LoopError?) -> Void)?) {
        pointer = .allocate(byteCount: WriteRequest.headerSize + source.count, alignment: 16)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Request>.size)
        bytes = UnsafeMutableRawBufferPointer(start: pointer + WriteRequest.headerSize, count: source.count)
        if source.count > 0 { bytes.copyMemory(from: source) }
        request.withMemoryRebound(to: uv_req_t.self, capacity: 1) {
            $0.pointee.data = completion.map { Unmanaged.passRetained(WriteCompletion($0)).toOpaque() }
        }
    }

    var request: UnsafeMutablePointer<Request> { pointer.assumingMemoryBound(to: Request.self) }

    var buffer: uv_buf_t {
        uv_buf_init(bytes.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
    }

    /// Frees the block and reports the outcome; call exactly once, from libuv's callback.
    static func finish(_ request: UnsafeMutableRawPointer, status: Int32, operation: String) {
        let data = request.assumingMemoryBound(to: uv_req_t.self).pointee.data
        request.deallocate()
        guard let data else { return }
        let completion = Unmanaged<WriteCompletion>.fromOpaque(data).takeRetainedValue()
        completion.callback(status < 0 ? LoopError(code: status, operation: operation) : nil)
    }
}

final class WriteCompletion {
    let callback: (LoopError?) -> Void
    init(_ callback: @escaping (LoopError?) -> Void) { self.callback = callback }
}
