import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A bound UDP socket on the loop: datagrams in through a callback, out with `send`.
public final class UDPSocket: LoopHandle {
    private var onDatagram: ((UnsafeRawBufferPointer, SocketAddress) -> Void)?
    public private(set) var localAddress: SocketAddress

    public init(loop: EventLoop, address: SocketAddress) throws(LoopError) {
        localAddress = address
        super.init(loop: loop, handleType: uv_udp_t.self)
        let status = uv_udp_init(loop.uvLoop, udp)
        guard status == 0 else {
            discardUninitializedHandle()
            throw LoopError(code: status, operation: "uv_udp_init")
        }
        adoptInitializedHandle()
        do {
            try LoopError.check(address.withSockaddr { uv_udp_bind(udp, $0, 0) }, "bind udp \(address)")
            var storage = sockaddr_storage()
            var length = espy_uv_sockaddr_storage_size()
            let status = withUnsafeMutableBytes(of: &storage) {
                uv_udp_getsockname(udp, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
            }
            try LoopError.check(status, "getsockname")
            localAddress = withUnsafeBytes(of: storage) { SocketAddress($0.baseAddress!.assumingMemoryBound(to: sockaddr.self)) }
        } catch {
            close()
            throw error
        }
    }

    var udp: UnsafeMutablePointer<uv_udp_t> { rawHandle.assumingMemoryBound(to: uv_udp_t.self) }

    /// `onDatagram`'s bytes are valid only during the call.
    public func startReceiving(_ onDatagram: @escaping (UnsafeRawBufferPointer, SocketAddress) -> Void) throws(LoopError) {
        self.onDatagram = onDatagram
        try LoopError.check(uv_udp_recv_start(udp, { handle, _, buffer in
            let loop = LoopHandle.owner(of: handle, as: UDPSocket.self).loop
            buffer!.pointee = uv_buf_init(loop.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self),
                                          UInt32(loop.readBuffer.count))
        }, { handle, count, buffer, address, _ in
            // count == 0 with no address means "nothing more to read now", not an empty datagram.
            guard count >= 0, let address else { return }
            let socket = LoopHandle.owner(of: handle, as: UDPSocket.self)
            socket.onDatagram?(UnsafeRawBufferPointer(start: buffer!.pointee.base, count: count), SocketAddress(address))
        }), "uv_udp_recv_start")
    }

    /// Delivers datagrams already waiting in the socket (at most `limit`) now, without waiting
    /// for the poll phase. libuv runs due timers before it polls, so after the loop was held up
    /// a timeout would otherwise be judged before the answer that arrived in time is read.
    public func deliverWaiting(limit: Int = 64) {
        var descriptor = uv_os_fd_t()
        guard !isClosing, onDatagram != nil, uv_fileno(rawHandle.assumingMemoryBound(to: uv_handle_t.self), &descriptor) == 0 else { return }
        let buffer = loop.readBuffer
        for _ in 0..<limit {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutableBytes(of: &storage) { address in
                recvfrom(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT),
                         address.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
            }
            guard count >= 0, let onDatagram else { return }
            let from = withUnsafeBytes(of: storage) { SocketAddress($0.baseAddress!.assumingMemoryBound(to: sockaddr.self)) }
            onDatagram(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), from)
        }
    }

    public func send(_ bytes: [UInt8], to address: SocketAddress, completion: ((LoopError?) -> Void)? = nil) {
        guard !isClosing else {
            completion?(LoopError(code: Int32(UV_ECANCELED.rawValue), operation: "udp send on a closed socket"))
            return
        }
        let request = bytes.withUnsafeBytes { WriteRequest<uv_udp_send_t>(copying: $0, completion: completion) }
        var buffer = request.buffer
        let status = address.withSockaddr {
            uv_udp_send(request.request, udp, &buffer, 1, $0) { request, status in
                WriteRequest<uv_udp_send_t>.finish(UnsafeMutableRawPointer(request!), status: status, operation: "udp send")
            }
        }
        if status < 0 { WriteRequest<uv_udp_send_t>.finish(request.pointer, status: status, operation: "udp send") }
    }

    public override func willClose() { onDatagram = nil }
}
