import CLibUV

/// One TCP stream on the loop: reads are pushed to a callback, writes are queued in order.
public final class TCPConnection: LoopHandle {
    public enum ReadEvent {
        /// Valid only during the callback: the bytes live in the loop's shared read buffer.
        case data(UnsafeRawBufferPointer)
        case end
        case failed(LoopError)
    }

    private var onRead: ((ReadEvent) -> Void)?
    private var onConnect: ((LoopError?) -> Void)?

    init(loop: EventLoop) throws(LoopError) {
        super.init(loop: loop, handleType: uv_tcp_t.self)
        let status = uv_tcp_init(loop.uvLoop, tcp)
        guard status == 0 else {
            discardUninitializedHandle()
            throw LoopError(code: status, operation: "uv_tcp_init")
        }
        adoptInitializedHandle()
    }

    var tcp: UnsafeMutablePointer<uv_tcp_t> { rawHandle.assumingMemoryBound(to: uv_tcp_t.self) }
    var stream: UnsafeMutablePointer<uv_stream_t> { espy_uv_as_stream(rawHandle) }

    /// Opens a client connection; `completion` runs on the loop with the connected stream or the error.
    public static func connect(loop: EventLoop, to address: SocketAddress,
                               completion: @escaping (Result<TCPConnection, LoopError>) -> Void) {
        let connection: TCPConnection
        do { connection = try TCPConnection(loop: loop) } catch { return completion(.failure(error)) }
        connection.onConnect = { [unowned connection] error in
            if let error {
                connection.close()
                completion(.failure(error))
            } else {
                completion(.success(connection))
            }
        }
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.initialize(to: uv_connect_t())
        let status = address.withSockaddr { uv_tcp_connect(request, connection.tcp, $0) { request, status in
            let connection = LoopHandle.owner(of: request!.pointee.handle, as: TCPConnection.self)
            request!.deallocate()
            let onConnect = connection.onConnect
            connection.onConnect = nil
            onConnect?(status < 0 ? LoopError(code: status, operation: "connect") : nil)
        } }
        if status < 0 {
            request.deallocate()
            connection.onConnect = nil
            connection.close()
            completion(.failure(LoopError(code: status, operation: "connect to \(address)")))
        }
    }

    public func startReading(_ onRead: @escaping (ReadEvent) -> Void) {
        self.onRead = onRead
        uv_read_start(stream, { handle, _, buffer in
            let loop = LoopHandle.owner(of: handle, as: TCPConnection.self).loop
            buffer!.pointee = uv_buf_init(loop.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self),
                                          UInt32(loop.readBuffer.count))
        }, { handle, count, buffer in
            let connection = LoopHandle.owner(of: handle, as: TCPConnection.self)
            if count > 0 {
                connection.onRead?(.data(UnsafeRawBufferPointer(start: buffer!.pointee.base, count: count)))
            } else if count == Int(LoopError.endOfFile) {
                connection.onRead?(.end)
            } else if count < 0 {
                connection.onRead?(.failed(LoopError(code: Int32(count), operation: "read")))
            }
        })
    }

    public func stopReading() {
        if !isClosing { uv_read_stop(stream) }
    }

    /// Queues `bytes` after every earlier write; the bytes are copied, or written at once when
    /// the socket can take them. `completion` runs when the kernel has them (or on failure).
    public func write(_ bytes: UnsafeRawBufferPointer, completion: ((LoopError?) -> Void)? = nil) {
        guard !isClosing else {
            completion?(LoopError(code: Int32(UV_ECANCELED.rawValue), operation: "write on a closed connection"))
            return
        }
        var remaining = bytes
        if uv_stream_get_write_queue_size(stream) == 0, bytes.count > 0 {
            var buffer = uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: CChar.self)),
                                     UInt32(bytes.count))
            let written = uv_try_write(stream, &buffer, 1)
            if written == bytes.count {
                completion?(nil)
                return
            }
            if written > 0 { remaining = UnsafeRawBufferPointer(rebasing: bytes[Int(written)...]) }
        }
        let request = WriteRequest<uv_write_t>(copying: remaining, completion: completion)
        var buffer = request.buffer
        let status = uv_write(request.request, stream, &buffer, 1) { request, status in
            WriteRequest<uv_write_t>.finish(UnsafeMutableRawPointer(request!), status: status, operation: "write")
        }
        if status < 0 { WriteRequest<uv_write_t>.finish(request.pointer, status: status, operation: "write") }
    }

    public func write(_ bytes: [UInt8], completion: ((LoopError?) -> Void)? = nil) {
        bytes.withUnsafeBytes { write($0, completion: completion) }
    }

    /// Sends FIN once every queued write is out; reading stays possible. `completion` runs on the loop.
    public func shutdownWrites(_ completion: @escaping (LoopError?) -> Void) {
        guard !isClosing else { return completion(LoopError(code: Int32(UV_ECANCELED.rawValue), operation: "shutdown")) }
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        request.initialize(to: uv_shutdown_t())
        request.pointee.data = Unmanaged.passRetained(WriteCompletion(completion)).toOpaque()
        let status = uv_shutdown(request, stream) { request, status in
            let completion = Unmanaged<WriteCompletion>.fromOpaque(request!.pointee.data).takeRetainedValue()
            request!.deallocate()
            completion.callback(status < 0 ? LoopError(code: status, operation: "shutdown") : nil)
        }
        if status < 0 {
            Unmanaged<WriteCompletion>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            completion(LoopError(code: status, operation: "shutdown"))
        }
    }

    /// Bytes accepted by `write` that the kernel has not taken yet: the measure for back-pressure.
    public var pendingWriteBytes: Int { isClosing ? 0 : uv_stream_get_write_queue_size(stream) }

    public func setNoDelay(_ enabled: Bool) {
        uv_tcp_nodelay(tcp, enabled ? 1 : 0)
    }

    public var peerAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = espy_uv_sockaddr_storage_size()
        let status = withUnsafeMutableBytes(of: &storage) {
            uv_tcp_getpeername(tcp, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        guard status == 0 else { return nil }
        return withUnsafeBytes(of: storage) { SocketAddress($0.baseAddress!.assumingMemoryBound(to: sockaddr.self)) }
    }

    public override func willClose() {
        onRead = nil
    }
}
