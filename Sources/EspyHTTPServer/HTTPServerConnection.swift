import EspyHTTP
import EspyLoop

/// One client connection: binds an `HTTPConnectionMachine`, which makes every decision, to its
/// socket, the server's handler and the loop's clock.
final class HTTPServerConnection {
    private unowned let server: HTTPServer
    private let tcp: TCPConnection
    private var machine: HTTPConnectionMachine
    /// The machine's actions not yet performed. Events that arrive while they are performed (a
    /// handler or stream answering at once, a write completing at once) add to this queue
    /// instead of nesting, so the stack stays flat however many chunks complete synchronously.
    private var actions: [HTTPConnectionAction] = []
    private var isPerforming = false
    /// Swapped with the machine's output on every write, so both buffers keep their capacity.
    private var writeBuffer: [UInt8] = []
    private lazy var onRead: (TCPConnection.ReadEvent) -> Void = { [unowned self] event in self.handle(event) }
    private lazy var onWriteCompleted: (LoopError?) -> Void = { [weak self] error in
        guard let self else { return }
        self.machine.writeCompleted(succeeded: error == nil, now: self.now, into: &self.actions)
        self.perform()
    }

    init(server: HTTPServer, tcp: TCPConnection) {
        self.server = server
        self.tcp = tcp
        peerHost = tcp.peerAddress?.host
        machine = HTTPConnectionMachine(rules: server.connectionRules, peer: tcp.peerAddress?.description ?? "?",
                                        now: server.loop.nowMilliseconds, httpDate: server.dateHeader)
    }

    private let peerHost: String?

    private var now: UInt64 { server.loop.nowMilliseconds }

    func start(reservedOnly: Bool = false) {
        tcp.setNoDelay(true)
        machine.start(reservedOnly: reservedOnly, into: &actions)
        perform()
    }

    /// Answers `response` at once, then closes (lingering, so the client reads it instead of a reset).
    func refuse(_ response: HTTPResponse) {
        machine.refuse(response, now: now, into: &actions)
        perform()
    }

    func checkTimeouts(now: UInt64) {
        machine.httpDate = server.dateHeader
        machine.tick(now: now, into: &actions)
        perform()
    }

    func beginShutdown() {
        machine.shutdownRequested(now: now, into: &actions)
        perform()
    }

    func forceClose() {
        machine.abort(into: &actions)
        perform()
    }

    private func handle(_ event: TCPConnection.ReadEvent) {
        switch event {
        case .data(let bytes): machine.bytesRead(bytes, now: now, into: &actions)
        case .end: machine.peerClosed(now: now, into: &actions)
        case .failed: machine.readFailed(into: &actions)
        }
        perform()
    }

    private func perform() {
        guard !isPerforming else { return }
        isPerforming = true
        var index = 0
        while index < actions.count {
            let action = actions[index]
            index += 1
            apply(action)
            if index >= 64 {
                // A long synchronous stream keeps appending; drop what is done now and then.
                actions.removeFirst(index)
                index = 0
            }
        }
        actions.removeAll(keepingCapacity: true)
        isPerforming = false
    }

    private func apply(_ action: HTTPConnectionAction) {
        switch action {
        case .startReading:
            tcp.startReading(onRead)
        case .stopReading:
            tcp.stopReading()
        case .write:
            guard machine.takeOutput(into: &writeBuffer) else { return }
            tcp.write(writeBuffer, completion: onWriteCompleted)
            writeBuffer.removeAll(keepingCapacity: true)
        case .dispatch(var request, let slot):
            guard !machine.isClosed else { return }
            request.peerHost = peerHost
            // Held strongly until the handler answers (a weak capture costs a second allocation
            // per request, for its box); an answer after the connection closed goes nowhere.
            server.handler(request) { [self] response in
                guard !machine.isClosed else { return }
                machine.responseReady(response, slot: slot, now: now, into: &actions)
                perform()
            }
        case .pullChunk(let stream):
            guard !machine.isClosed else { return }
            stream.nextChunk { [weak self] result in
                guard let self else { return }
                self.machine.chunkDelivered(result, now: self.now, into: &self.actions)
                self.perform()
            }
        case .cancelStream(let stream):
            stream.cancel()
        case .shutdownWrites:
            tcp.shutdownWrites { [weak self] error in
                guard let self else { return }
                self.machine.writesShutDown(succeeded: error == nil, now: self.now, into: &self.actions)
                self.perform()
            }
        case .releasePlace:
            server.releasePlace(of: self)
        case .logResponse(let entry):
            server.settings.onResponse?(entry)
        case .close:
            tcp.close { [unowned server, self] in server.connectionDidClose(self) }
        }
    }
}
