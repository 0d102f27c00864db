import CLibUV

/// A listening TCP socket; each accepted connection is handed to the callback.
public final class TCPListener: LoopHandle {
    private var onConnection: ((TCPConnection) -> Void)?
    public private(set) var localAddress: SocketAddress

    public init(loop: EventLoop, address: SocketAddress, backlog: Int32 = 1024,
                onConnection: @escaping (TCPConnection) -> Void) throws(LoopError) {
        localAddress = address
        super.init(loop: loop, handleType: uv_tcp_t.self)
        let tcp = rawHandle.assumingMemoryBound(to: uv_tcp_t.self)
        let status = uv_tcp_init(loop.uvLoop, tcp)
        guard status == 0 else {
            discardUninitializedHandle()
            throw LoopError(code: status, operation: "uv_tcp_init")
        }
        adoptInitializedHandle()
        do {
            try LoopError.check(address.withSockaddr { uv_tcp_bind(tcp, $0, 0) }, "bind \(address)")
            try LoopError.check(uv_listen(espy_uv_as_stream(rawHandle), backlog) { server, status in
                let listener = LoopHandle.owner(of: server, as: TCPListener.self)
                guard status == 0 else { return }
                listener.accept()
            }, "listen on \(address)")
            localAddress = try boundAddress()
        } catch {
            close()
            throw error
        }
        self.onConnection = onConnection
    }

    private func boundAddress() throws(LoopError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = espy_uv_sockaddr_storage_size()
        let status = withUnsafeMutableBytes(of: &storage) {
            uv_tcp_getsockname(rawHandle.assumingMemoryBound(to: uv_tcp_t.self),
                               $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        try LoopError.check(status, "getsockname")
        return withUnsafeBytes(of: storage) { SocketAddress($0.baseAddress!.assumingMemoryBound(to: sockaddr.self)) }
    }

    private func accept() {
        guard let connection = try? TCPConnection(loop: loop) else { return }
        guard uv_accept(espy_uv_as_stream(rawHandle), connection.stream) == 0 else {
            connection.close()
            return
        }
        onConnection?(connection)
    }

    public override func willClose() { onConnection = nil }
}
