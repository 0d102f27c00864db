import EspyHTTP

/// What an `HTTPConnectionMachine` asks its shell to do, in the order given.
enum HTTPConnectionAction {
    case startReading
    case stopReading
    /// Hand the bytes of `HTTPConnectionMachine.takeOutput(into:)` to the socket and report
    /// the write's end with `writeCompleted`.
    case write
    /// Run the handler; its reply goes to `responseReady(_:slot:now:into:)` with this slot.
    case dispatch(HTTPRequest, slot: UInt64)
    /// Ask the stream for its next chunk and report it with `chunkDelivered`.
    case pullChunk(ResponseBodyStream)
    case cancelStream(ResponseBodyStream)
    /// Send FIN once the queued writes are out, and report it with `writesShutDown`.
    case shutdownWrites
    /// Stop counting this connection against the connection limit: it only lingers now.
    case releasePlace
    case logResponse(AccessLogEntry)
    /// Close the socket at once; whatever is still queued is dropped.
    case close
}
