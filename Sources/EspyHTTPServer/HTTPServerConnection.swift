import EspyHTTP
import EspyLoop

/// One client connection: parses pipelined requests, runs them, and writes their responses back
/// strictly in request order, whichever finishes first.
final class HTTPServerConnection {
    private unowned let server: HTTPServer
    private let tcp: TCPConnection
    private let parser: HTTPRequestParser
    private let peer: String

    /// One entry per request read and not yet fully answered, oldest first.
    private var slots: [ResponseSlot] = []
    /// Bytes produced since the last socket write; flushed once per read or reply, so pipelined
    /// answers share one write call.
    private var output: [UInt8] = []
    private var activeStream: (slot: ResponseSlot, stream: ResponseBodyStream)?
    private var isReading = false
    /// No further requests are taken; the connection closes once the slots are written.
    private var closeWhenDone = false
    private var isClosed = false
    private var lastActivity: UInt64
    private var requestStartedAt: UInt64?
    /// Set once every response is on the wire and the connection only waits for the client
    /// to close (see `closeAfterWrites`).
    private var lingeringSince: UInt64?
    private var isShuttingDownWrites = false
    /// Trampoline state for `pullChunk`: a stream and socket that both complete synchronously
    /// must not recurse once per chunk.
    private var isPulling = false
    private var pullRequested = false
    /// Accepted into a reserved place: it may carry only requests under reserved paths, and
    /// must start one soon.
    private var reservedOnly = false
    private let acceptedAt: UInt64
    private var requestsTaken = 0

    init(server: HTTPServer, tcp: TCPConnection) {
        self.server = server
        self.tcp = tcp
        self.parser = HTTPRequestParser(limits: server.settings.limits)
        self.peer = tcp.peerAddress?.description ?? "?"
        self.lastActivity = server.loop.nowMilliseconds
        self.acceptedAt = lastActivity
    }

    func start(reservedOnly: Bool = false) {
        self.reservedOnly = reservedOnly
        tcp.setNoDelay(true)
        resumeReading()
    }

    /// Answers `response` to whatever the client sends first, then closes (lingering).
    func refuse(_ response: HTTPResponse) {
        fail(with: response)
        writeReadyResponses()
    }

    /// Answers 503 and gives the place back at once: a refused client lingering over its 503
    /// must not keep a place meant for the other nodes.
    private func refuseReservedPlace() {
        reservedOnly = false
        server.releasePlace(of: self)
        fail(with: HTTPResponse.error(.serviceUnavailable, server.tooManyConnections))
    }

    private func isReserved(_ path: String) -> Bool {
        server.settings.reservedPathPrefixes.contains { path.hasPrefix($0) }
    }

    private func resumeReading() {
        guard !isReading, !closeWhenDone, !isClosed else { return }
        isReading = true
        tcp.startReading { [unowned self] event in self.handle(event) }
    }

    private func pauseReading() {
        guard isReading else { return }
        isReading = false
        tcp.stopReading()
    }

    private func handle(_ event: TCPConnection.ReadEvent) {
        lastActivity = server.loop.nowMilliseconds
        switch event {
        case .data(let bytes):
            let result = parser.feed(bytes)
            for event in result.events { handle(event) }
            // A reserved place is refused as soon as the request's head says where it goes, not
            // when a slow client finally finishes its body.
            if reservedOnly, !closeWhenDone, let path = parser.pathAwaitingBody, !isReserved(path) { refuseReservedPlace() }
            if let failure = result.failure { fail(with: HTTPResponse.error(failure.status, failure.message)) }
            requestStartedAt = parser.isInsideRequest && !closeWhenDone ? (requestStartedAt ?? lastActivity) : nil
            if slots.count >= server.settings.maxPipelinedRequests { pauseReading() }
            writeReadyResponses()
        case .end:
            // The client sent all it will; answer what it asked, then close.
            pauseReading()
            closeWhenDone = true
            writeReadyResponses()
        case .failed:
            close()
        }
    }

    private func handle(_ event: HTTPRequestParser.Event) {
        switch event {
        case .expectsContinue:
            // An interim response may only go out when it cannot overtake an earlier answer.
            if slots.isEmpty { output.append(contentsOf: HTTPResponseEncoder.continueResponse) }
        case .request(let request):
            guard !closeWhenDone else { return }
            requestsTaken += 1
            if reservedOnly && !isReserved(request.path) { return refuseReservedPlace() }
            let slot = ResponseSlot(request: request, startedAt: server.loop.nowMilliseconds)
            slots.append(slot)
            if !request.keepAlive {
                slot.keepAlive = false
            }
            if !request.keepAlive || server.isShuttingDown {
                closeWhenDone = true
                pauseReading()
            }
            server.handler(request) { [weak self, slot] response in
                guard let self, !self.isClosed, slot.response == nil else { return }
                slot.response = response
                self.writeReadyResponses()
            }
        }
    }

    /// Answers a protocol error after everything already asked, then closes.
    private func fail(with response: HTTPResponse) {
        let slot = ResponseSlot(request: nil, startedAt: server.loop.nowMilliseconds)
        slot.response = response
        slot.keepAlive = false
        slots.append(slot)
        closeWhenDone = true
        requestStartedAt = nil
        pauseReading()
    }

    /// Encodes every answered slot at the head of the queue, stops at the first one still
    /// waiting or streaming, and writes the result in one call.
    private func writeReadyResponses() {
        while activeStream == nil, let slot = slots.first, let response = slot.response {
            // Once the connection is closing, only its final response may say so (RFC 9112
            // §9.6): a client drops whatever follows a "Connection: close".
            let keepAlive = slot.keepAlive && !(closeWhenDone && slots.count == 1)
            let isHead = slot.request?.method == .head
            switch response.body {
            case .bytes(let body):
                HTTPResponseEncoder.appendHead(status: response.status, headers: response.headers,
                                               contentLength: body.count, keepAlive: keepAlive,
                                               date: server.dateHeader, to: &output)
                if !isHead { output.append(contentsOf: body) }
                finish(slot, status: response.status.code, bodyBytes: isHead ? 0 : body.count)
                if !keepAlive { closeWhenDone = true }
            case .stream(let stream):
                HTTPResponseEncoder.appendHead(status: response.status, headers: response.headers, contentLength: nil,
                                               keepAlive: keepAlive, date: server.dateHeader, to: &output)
                if !keepAlive { closeWhenDone = true }
                if isHead {
                    stream.cancel()
                    finish(slot, status: response.status.code, bodyBytes: 0)
                } else {
                    activeStream = (slot, stream)
                    flushOutput()
                    pullChunk()
                    return
                }
            }
        }
        flushOutput()
        if slots.isEmpty {
            if closeWhenDone { closeAfterWrites() } else if !isReading { resumeReading() }
        }
    }

    private func finish(_ slot: ResponseSlot, status: Int, bodyBytes: Int) {
        slots.removeFirst()
        lastActivity = server.loop.nowMilliseconds
        if let onResponse = server.settings.onResponse {
            // Protocol errors have no parsed request; they are logged (and counted) all the same.
            onResponse(AccessLogEntry(method: slot.request?.method.description ?? "-", path: slot.request?.path ?? "-",
                                      status: status,
                                      bodyBytes: bodyBytes,
                                      durationMicroseconds: EventLoop.monotonicMicroseconds() - slot.startedAtMicroseconds,
                                      peer: peer))
        }
    }

    private func flushOutput() {
        guard !output.isEmpty, !isClosed else { return }
        tcp.write(output)
        output.removeAll(keepingCapacity: true)
    }

    /// Streams are pulled one chunk at a time, and the next chunk is asked for only once the
    /// socket took the previous one: a slow reader slows the producer instead of filling memory.
    private func pullChunk() {
        pullRequested = true
        guard !isPulling else { return }
        isPulling = true
        while pullRequested {
            pullRequested = false
            pullOneChunk()
        }
        isPulling = false
    }

    private func pullOneChunk() {
        guard let (slot, stream) = activeStream else { return }
        stream.nextChunk { [weak self] result in
            guard let self, !self.isClosed else { return }
            switch result {
            case .failure:
                self.close()
            case .success(nil):
                self.output.append(contentsOf: HTTPResponseEncoder.lastChunk)
                self.activeStream = nil
                self.finish(slot, status: slot.response?.status.code ?? 200, bodyBytes: slot.streamedBytes)
                self.writeReadyResponses()
            case .success(let chunk?):
                slot.streamedBytes += chunk.count
                HTTPResponseEncoder.appendChunk(chunk, to: &self.output)
                let bytes = self.output
                self.output.removeAll(keepingCapacity: true)
                self.lastActivity = self.server.loop.nowMilliseconds
                self.tcp.write(bytes) { [weak self] error in
                    guard let self, !self.isClosed else { return }
                    if error != nil { self.close() } else { self.pullChunk() }
                }
            }
        }
    }

    /// Lingering close: send FIN after the queued responses, then read and discard until the
    /// client closes too. Closing at once while request bytes are still unread would make the
    /// kernel send RST, and the client could lose the very response (a 413, say) explaining why.
    private func closeAfterWrites() {
        guard !isClosed, !isShuttingDownWrites else { return }
        isShuttingDownWrites = true
        tcp.shutdownWrites { [weak self] error in
            guard let self, !self.isClosed else { return }
            if error != nil { return self.close() }
            // The linger clock starts when the last byte is out, however slowly the client read.
            self.lingeringSince = self.server.loop.nowMilliseconds
            self.isReading = true
            self.tcp.startReading { [weak self] event in
                if case .data = event { return }
                self?.close()
            }
        }
    }

    /// How long a lingering close waits for the client's FIN before closing anyway.
    static let lingerMilliseconds: UInt64 = 2_000

    func checkTimeouts(now: UInt64) {
        guard !isClosed else { return }
        if let lingeringSince {
            if now - lingeringSince >= HTTPServerConnection.lingerMilliseconds { close() }
            return
        }
        if reservedOnly, requestsTaken == 0, !closeWhenDone, now - acceptedAt >= server.settings.reservedFirstRequestMilliseconds {
            // A reserved place is not for a client that is slow to say what it wants.
            requestStartedAt = nil
            refuseReservedPlace()
            writeReadyResponses()
        } else if let started = requestStartedAt, now - started >= server.settings.requestTimeoutMilliseconds {
            requestStartedAt = nil
            fail(with: HTTPResponse.error(.requestTimeout, "request not received in time"))
            writeReadyResponses()
        } else if slots.isEmpty, activeStream == nil, requestStartedAt == nil, !isShuttingDownWrites,
                  tcp.pendingWriteBytes == 0, now - lastActivity >= server.settings.idleTimeoutMilliseconds {
            close()
        }
    }

    func beginShutdown() {
        if slots.isEmpty && requestStartedAt == nil && activeStream == nil {
            if tcp.pendingWriteBytes > 0 { closeWhenDone = true; closeAfterWrites() } else { close() }
        } else {
            closeWhenDone = true
            pauseReading()
        }
    }

    func forceClose() { close() }

    private func close() {
        guard !isClosed else { return }
        isClosed = true
        activeStream?.stream.cancel()
        activeStream = nil
        slots.removeAll()
        tcp.close { [unowned server, self] in server.connectionDidClose(self) }
    }
}

/// A request's place in the response order, filled in when its handler replies.
private final class ResponseSlot {
    let request: HTTPRequest?
    let startedAt: UInt64
    let startedAtMicroseconds = EventLoop.monotonicMicroseconds()
    var response: HTTPResponse?
    var keepAlive = true
    var streamedBytes = 0

    init(request: HTTPRequest?, startedAt: UInt64) {
        self.request = request
        self.startedAt = startedAt
    }
}
