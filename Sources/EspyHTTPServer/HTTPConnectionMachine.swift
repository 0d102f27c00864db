import EspyHTTP

/// Every decision of one HTTP/1.1 server connection — keep-alive, pipelining in request order,
/// streamed bodies, lingering close, idle, request and reserved-place timeouts, graceful
/// shutdown — without its socket, timers or clock. The shell reports events, with the time in
/// milliseconds, and performs the actions each event appends, in order.
///
/// A write counts as in flight from `takeOutput(into:)` until `writeCompleted`: nothing closes
/// the connection while a response is still on its way to a slow reader.
struct HTTPConnectionMachine {
    private enum StreamPhase {
        case awaitingChunk
        /// The last chunk is handed to the socket; the next is asked for once it is written,
        /// so a slow reader slows the producer instead of filling memory.
        case awaitingDrain
    }

    private let rules: HTTPConnectionRules
    private let peer: String
    private let parser: HTTPRequestParser
    private var responses = ResponseQueue()
    /// Bytes produced since the last write; pipelined answers produced together share one write.
    private var output: [UInt8] = []
    private var isWriteRequested = false
    private var writesInFlight = 0
    private var stream: (body: ResponseBodyStream, phase: StreamPhase)?
    private var isReading = false
    /// No further requests are taken; the connection closes once the queued responses are written.
    private var closeWhenDone = false
    private(set) var isClosed = false
    private var lastActivity: UInt64
    private var requestStartedAt: UInt64?
    private var isShuttingDownWrites = false
    /// Set once FIN is sent after the last response: the connection only waits for the client
    /// to close, discarding what it reads.
    private var lingeringSince: UInt64?
    /// Accepted into a reserved place: it may carry only requests under reserved paths, and
    /// must start one soon.
    private var reservedOnly = false
    private let acceptedAt: UInt64
    private var requestsTaken = 0
    /// A request asked for `100 Continue` while earlier answers were pending; it may go out only
    /// once it cannot overtake them.
    private var isContinueOwed = false
    /// The Date header's value, refreshed by the shell.
    var httpDate: String

    init(rules: HTTPConnectionRules, peer: String, now: UInt64, httpDate: String) {
        self.rules = rules
        self.peer = peer
        self.parser = HTTPRequestParser(limits: rules.limits)
        self.lastActivity = now
        self.acceptedAt = now
        self.httpDate = httpDate
    }

    // MARK: Events

    mutating func start(reservedOnly: Bool, into actions: inout [HTTPConnectionAction]) {
        self.reservedOnly = reservedOnly
        resumeReading(into: &actions)
    }

    /// Answers `response` at once and closes (lingering), without serving anything.
    mutating func refuse(_ response: HTTPResponse, now: UInt64, into actions: inout [HTTPConnectionAction]) {
        fail(with: response)
        writeReadyResponses(now: now, into: &actions)
    }

    mutating func bytesRead(_ bytes: UnsafeRawBufferPointer, now: UInt64, into actions: inout [HTTPConnectionAction]) {
        guard !isClosed else { return }
        lastActivity = now
        // Lingering, or waiting to send FIN: what the client still sends is read only so that
        // closing does not reset the connection.
        guard !isShuttingDownWrites else { return }
        let result = parser.feed(bytes)
        for event in result.events {
            switch event {
            case .expectsContinue:
                if responses.isEmpty {
                    output.append(contentsOf: HTTPResponseEncoder.continueResponse)
                } else {
                    isContinueOwed = true
                }
            case .request(let request):
                take(request, into: &actions)
            }
        }
        // A reserved place is refused as soon as the request's head says where it goes, not
        // when a slow client finally finishes its body.
        if reservedOnly, !closeWhenDone, let path = parser.pathAwaitingBody, !rules.isReserved(path) {
            refuseReservedPlace(into: &actions)
        }
        if let failure = result.failure { fail(with: HTTPResponse.error(failure.status, failure.message)) }
        requestStartedAt = parser.isInsideRequest && !closeWhenDone ? (requestStartedAt ?? now) : nil
        if responses.count >= rules.maxPipelinedRequests { pauseReading(into: &actions) }
        writeReadyResponses(now: now, into: &actions)
    }

    /// The client sent all it will (FIN).
    mutating func peerClosed(now: UInt64, into actions: inout [HTTPConnectionAction]) {
        guard !isClosed else { return }
        if lingeringSince != nil { return close(into: &actions) }
        // Answer what it asked, then close.
        lastActivity = now
        pauseReading(into: &actions)
        closeWhenDone = true
        writeReadyResponses(now: now, into: &actions)
    }

    mutating func readFailed(into actions: inout [HTTPConnectionAction]) {
        close(into: &actions)
    }

    /// The handler's reply for `slot`; a second reply, or one after the connection closed, is ignored.
    mutating func responseReady(_ response: HTTPResponse, slot: UInt64, now: UInt64,
                                into actions: inout [HTTPConnectionAction]) {
        guard !isClosed, responses.fill(slot, with: response) else { return }
        writeReadyResponses(now: now, into: &actions)
    }

    mutating func chunkDelivered(_ result: Result<[UInt8]?, Error>, now: UInt64,
                                 into actions: inout [HTTPConnectionAction]) {
        guard !isClosed, let active = stream, active.phase == .awaitingChunk else { return }
        switch result {
        case .failure:
            close(into: &actions)
        case .success(nil):
            output.append(contentsOf: HTTPResponseEncoder.lastChunk)
            stream = nil
            let status = responses.first?.response?.status.code ?? 200
            finishFirstResponse(status: status, bodyBytes: responses.first?.streamedBytes ?? 0, now: now, into: &actions)
            writeReadyResponses(now: now, into: &actions)
        case .success(let chunk?):
            responses.addStreamedBytes(chunk.count)
            HTTPResponseEncoder.appendChunk(chunk, to: &output)
            lastActivity = now
            if isDrained {
                actions.append(.pullChunk(active.body))  // an empty chunk: nothing to wait for
            } else {
                stream?.phase = .awaitingDrain
                requestWrite(into: &actions)
            }
        }
    }

    /// The bytes waiting for the socket. The shell calls this for a `.write` action and hands
    /// the bytes to the socket; `buffer` must be empty and gets the bytes (their storage is swapped,
    /// not copied). False when an earlier `.write` already took everything.
    mutating func takeOutput(into buffer: inout [UInt8]) -> Bool {
        isWriteRequested = false
        guard !output.isEmpty, !isClosed else { return false }
        swap(&output, &buffer)
        writesInFlight += 1
        return true
    }

    mutating func writeCompleted(succeeded: Bool, now: UInt64, into actions: inout [HTTPConnectionAction]) {
        guard !isClosed else { return }
        writesInFlight -= 1
        guard succeeded else { return close(into: &actions) }
        guard isDrained else { return }
        lastActivity = now
        if let active = stream, active.phase == .awaitingDrain {
            stream?.phase = .awaitingChunk
            actions.append(.pullChunk(active.body))
        }
    }

    /// FIN is sent, so every byte before it is written: the linger clock starts now, however
    /// slowly the client read.
    mutating func writesShutDown(succeeded: Bool, now: UInt64, into actions: inout [HTTPConnectionAction]) {
        guard !isClosed else { return }
        guard succeeded else { return close(into: &actions) }
        lingeringSince = now
        if !isReading {
            isReading = true
            actions.append(.startReading)
        }
    }

    mutating func tick(now: UInt64, into actions: inout [HTTPConnectionAction]) {
        guard !isClosed else { return }
        if let lingeringSince {
            if elapsed(since: lingeringSince, now: now) >= rules.lingerMilliseconds { close(into: &actions) }
            return
        }
        if reservedOnly, requestsTaken == 0, !closeWhenDone,
           elapsed(since: acceptedAt, now: now) >= rules.reservedFirstRequestMilliseconds {
            // A reserved place is not for a client that is slow to say what it wants.
            requestStartedAt = nil
            refuseReservedPlace(into: &actions)
            writeReadyResponses(now: now, into: &actions)
        } else if let started = requestStartedAt, elapsed(since: started, now: now) >= rules.requestTimeoutMilliseconds {
            requestStartedAt = nil
            fail(with: HTTPResponse.error(.requestTimeout, "request not received in time"))
            writeReadyResponses(now: now, into: &actions)
        } else if isIdle, elapsed(since: lastActivity, now: now) >= rules.idleTimeoutMilliseconds {
            close(into: &actions)
        }
    }

    /// The server stops: an idle connection closes now (after its last bytes, if some are still
    /// being written); a busy one finishes what it has read and takes nothing more.
    mutating func shutdownRequested(now: UInt64, into actions: inout [HTTPConnectionAction]) {
        guard !isClosed else { return }
        if responses.isEmpty && requestStartedAt == nil && stream == nil {
            if isDrained {
                close(into: &actions)
            } else {
                closeWhenDone = true
                closeAfterWrites(into: &actions)
            }
        } else {
            closeWhenDone = true
            pauseReading(into: &actions)
        }
    }

    /// Closes at once, whatever is in progress (the shutdown grace ran out).
    mutating func abort(into actions: inout [HTTPConnectionAction]) {
        close(into: &actions)
    }

    // MARK: Decisions

    private var isDrained: Bool { writesInFlight == 0 && output.isEmpty }

    /// Nothing read, answered, streamed or written is in progress.
    private var isIdle: Bool {
        responses.isEmpty && stream == nil && requestStartedAt == nil && !isShuttingDownWrites && isDrained
    }

    private func elapsed(since start: UInt64, now: UInt64) -> UInt64 {
        now > start ? now - start : 0
    }

    private mutating func take(_ request: HTTPRequest, into actions: inout [HTTPConnectionAction]) {
        isContinueOwed = false
        guard !closeWhenDone else { return }
        requestsTaken += 1
        if reservedOnly && !rules.isReserved(request.path) { return refuseReservedPlace(into: &actions) }
        let slot = responses.append(method: request.method, path: request.path, keepAlive: request.keepAlive,
                                    startedAtMicroseconds: rules.accessLogClock?() ?? 0)
        if !request.keepAlive {
            closeWhenDone = true
            pauseReading(into: &actions)
        }
        actions.append(.dispatch(request, slot: slot))
    }

    /// Answers 503 and gives the place back at once: a refused client lingering over its 503
    /// must not keep a place meant for the other nodes.
    private mutating func refuseReservedPlace(into actions: inout [HTTPConnectionAction]) {
        reservedOnly = false
        actions.append(.releasePlace)
        fail(with: HTTPResponse.error(.serviceUnavailable, rules.refusalMessage))
    }

    /// Queues `response` after everything already asked; the connection closes after it (reading
    /// stops in the `writeReadyResponses` that follows every failure).
    private mutating func fail(with response: HTTPResponse) {
        let slot = responses.append(method: nil, path: nil, keepAlive: false,
                                    startedAtMicroseconds: rules.accessLogClock?() ?? 0)
        _ = responses.fill(slot, with: response)
        closeWhenDone = true
        requestStartedAt = nil
        isContinueOwed = false
    }

    /// Encodes every answered response at the head of the queue, stops at the first one still
    /// waiting or streaming, and asks for one write of the result.
    private mutating func writeReadyResponses(now: UInt64, into actions: inout [HTTPConnectionAction]) {
        if closeWhenDone { pauseReading(into: &actions) }
        while stream == nil, let first = responses.first, let response = first.response {
            // Once the connection is closing, only its final response may say so (RFC 9112
            // §9.6): a client drops whatever follows a "Connection: close".
            let keepAlive = first.keepAlive && !(closeWhenDone && responses.count == 1)
            if !keepAlive { closeWhenDone = true }
            let isHead = first.method == .head
            switch response.body {
            case .bytes(let body):
                HTTPResponseEncoder.appendHead(status: response.status, headers: response.headers,
                                               contentLength: body.count, keepAlive: keepAlive, date: httpDate, to: &output)
                if !isHead { output.append(contentsOf: body) }
                finishFirstResponse(status: response.status.code, bodyBytes: isHead ? 0 : body.count, now: now, into: &actions)
            case .stream(let body):
                HTTPResponseEncoder.appendHead(status: response.status, headers: response.headers,
                                               contentLength: nil, keepAlive: keepAlive, date: httpDate, to: &output)
                if isHead {
                    actions.append(.cancelStream(body))
                    finishFirstResponse(status: response.status.code, bodyBytes: 0, now: now, into: &actions)
                } else {
                    stream = (body, .awaitingChunk)
                    requestWrite(into: &actions)
                    actions.append(.pullChunk(body))
                    return
                }
            }
        }
        guard responses.isEmpty else { return requestWrite(into: &actions) }
        if isContinueOwed && !closeWhenDone {
            isContinueOwed = false
            output.append(contentsOf: HTTPResponseEncoder.continueResponse)
        }
        requestWrite(into: &actions)
        if closeWhenDone { closeAfterWrites(into: &actions) } else { resumeReading(into: &actions) }
    }

    private mutating func finishFirstResponse(status: Int, bodyBytes: Int, now: UInt64,
                                              into actions: inout [HTTPConnectionAction]) {
        let finished = responses.removeFirst()
        lastActivity = now
        guard let clock = rules.accessLogClock else { return }
        // Protocol errors have no parsed request; they are logged (and counted) all the same.
        actions.append(.logResponse(AccessLogEntry(
            method: finished.method?.description ?? "-", path: finished.path ?? "-", status: status,
            bodyBytes: bodyBytes, durationMicroseconds: clock() - finished.startedAtMicroseconds, peer: peer)))
    }

    private mutating func requestWrite(into actions: inout [HTTPConnectionAction]) {
        guard !output.isEmpty, !isWriteRequested, !isClosed else { return }
        isWriteRequested = true
        actions.append(.write)
    }

    /// Lingering close: FIN after the queued responses, then read and discard until the client
    /// closes too. Closing at once while request bytes are still unread would make the kernel
    /// send RST, and the client could lose the very response (a 413, say) explaining why.
    private mutating func closeAfterWrites(into actions: inout [HTTPConnectionAction]) {
        guard !isClosed, !isShuttingDownWrites else { return }
        isShuttingDownWrites = true
        pauseReading(into: &actions)
        actions.append(.shutdownWrites)
    }

    private mutating func resumeReading(into actions: inout [HTTPConnectionAction]) {
        guard !isReading, !closeWhenDone, !isClosed else { return }
        isReading = true
        actions.append(.startReading)
    }

    private mutating func pauseReading(into actions: inout [HTTPConnectionAction]) {
        guard isReading, !isClosed else { return }
        isReading = false
        actions.append(.stopReading)
    }

    private mutating func close(into actions: inout [HTTPConnectionAction]) {
        guard !isClosed else { return }
        isClosed = true
        if let stream { actions.append(.cancelStream(stream.body)) }
        stream = nil
        responses.removeAll()
        output.removeAll()
        actions.append(.close)
    }
}
