import EspyHTTP
@testable import EspyHTTPServer
import EspyLoop

/// Plays the shell for an `HTTPConnectionMachine` without a socket: writes complete at once or
/// only when the test says so (a slow reader), FIN goes out once every write has, handlers are
/// recorded per slot, and the clock moves only when the test moves it.
final class ConnectionMachineDriver {
    private(set) var machine: HTTPConnectionMachine
    var now: UInt64 = 0
    /// False models a client that does not read: writes stay in flight until `completeWrites`.
    var socketTakesWritesAtOnce = true
    /// Every byte handed to the socket, in order.
    private(set) var written: [UInt8] = []
    private(set) var writeCount = 0
    private(set) var writesInFlight = 0
    private(set) var dispatched: [(slot: UInt64, request: HTTPRequest)] = []
    private(set) var isReading = false
    private(set) var isFINRequested = false
    private(set) var isFINSent = false
    private(set) var isPlaceReleased = false
    private(set) var isClosed = false
    private(set) var chunkRequests = 0
    private(set) var cancelledStreams = 0
    private(set) var accessLog: [AccessLogEntry] = []
    private var actions: [HTTPConnectionAction] = []
    private var buffer: [UInt8] = []
    private var isPerforming = false
    var microseconds: UInt64 = 0

    init(reservedOnly: Bool = false, start: Bool = true, _ configure: (inout HTTPServerSettings) -> Void = { _ in }) {
        var settings = HTTPServerSettings(address: try! SocketAddress(host: "127.0.0.1", port: 0))
        settings.reservedPathPrefixes = ["/internal/", "/metrics"]
        settings.onResponse = { _ in }
        configure(&settings)
        var clock: () -> UInt64 = { 0 }
        let rules = HTTPConnectionRules(settings: settings, refusalMessage: "too many connections",
                                        accessLogClock: { clock() })
        machine = HTTPConnectionMachine(rules: rules, peer: "test-peer", now: 0, httpDate: "Thu, 01 Jan 1970 00:00:00 GMT")
        clock = { [unowned self] in self.microseconds }
        if start { event { $0.start(reservedOnly: reservedOnly, into: &$1) } }
    }

    var writtenText: String { String(decoding: written, as: UTF8.self) }

    /// The complete responses written so far, as text, split at each status line.
    var writtenResponses: [String] {
        writtenText.components(separatedBy: "HTTP/1.1 ").dropFirst().map { "HTTP/1.1 " + $0 }
    }

    func read(_ text: String, at time: UInt64? = nil) {
        if let time { now = time }
        let bytes = Array(text.utf8)
        let now = self.now
        bytes.withUnsafeBytes { raw in event { $0.bytesRead(raw, now: now, into: &$1) } }
    }

    func reply(to slot: UInt64, _ response: HTTPResponse, at time: UInt64? = nil) {
        if let time { now = time }
        let now = self.now
        event { $0.responseReady(response, slot: slot, now: now, into: &$1) }
    }

    func reply(to slot: UInt64, body: String, at time: UInt64? = nil) {
        reply(to: slot, HTTPResponse(body: .bytes(Array(body.utf8))), at: time)
    }

    func tick(at time: UInt64) {
        now = time
        event { $0.tick(now: time, into: &$1) }
    }

    func peerCloses(at time: UInt64? = nil) {
        if let time { now = time }
        let now = self.now
        event { $0.peerClosed(now: now, into: &$1) }
    }

    func shutdown(at time: UInt64? = nil) {
        if let time { now = time }
        let now = self.now
        event { $0.shutdownRequested(now: now, into: &$1) }
    }

    func refuse(_ response: HTTPResponse) {
        let now = self.now
        event { $0.refuse(response, now: now, into: &$1) }
    }

    /// The slow reader finally reads everything: every write in flight completes, then FIN if asked.
    func completeWrites(at time: UInt64? = nil) {
        if let time { now = time }
        while writesInFlight > 0 {
            writesInFlight -= 1
            let now = self.now
            event { $0.writeCompleted(succeeded: true, now: now, into: &$1) }
        }
        sendFINIfDue()
    }

    private func event(_ body: (inout HTTPConnectionMachine, inout [HTTPConnectionAction]) -> Void) {
        body(&machine, &actions)
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
        }
        actions.removeAll()
        isPerforming = false
    }

    private func apply(_ action: HTTPConnectionAction) {
        switch action {
        case .startReading: isReading = true
        case .stopReading: isReading = false
        case .write:
            guard machine.takeOutput(into: &buffer) else { return }
            written += buffer
            buffer.removeAll(keepingCapacity: true)
            writeCount += 1
            writesInFlight += 1
            if socketTakesWritesAtOnce { completeWrites() }
        case .dispatch(let request, let slot): dispatched.append((slot, request))
        case .pullChunk(let stream):
            chunkRequests += 1
            stream.nextChunk { [unowned self] result in
                let now = self.now
                self.event { $0.chunkDelivered(result, now: now, into: &$1) }
            }
        case .cancelStream(let stream):
            cancelledStreams += 1
            stream.cancel()
        case .shutdownWrites:
            isFINRequested = true
            sendFINIfDue()
        case .releasePlace: isPlaceReleased = true
        case .logResponse(let entry): accessLog.append(entry)
        case .close: isClosed = true
        }
    }

    /// libuv sends FIN only after every queued write.
    private func sendFINIfDue() {
        guard isFINRequested, !isFINSent, writesInFlight == 0, !isClosed else { return }
        isFINSent = true
        let now = self.now
        event { $0.writesShutDown(succeeded: true, now: now, into: &$1) }
    }
}

/// A stream whose chunks the test hands over one `nextChunk` at a time.
final class HandFedStream: ResponseBodyStream {
    private var deliver: ((Result<[UInt8]?, Error>) -> Void)?
    private(set) var isCancelled = false
    var isAsked: Bool { deliver != nil }

    func nextChunk(_ deliver: @escaping (Result<[UInt8]?, Error>) -> Void) {
        precondition(self.deliver == nil, "asked for a chunk while the previous one is outstanding")
        self.deliver = deliver
    }

    func cancel() { isCancelled = true }

    func send(_ chunk: String?) {
        let deliver = self.deliver!
        self.deliver = nil
        deliver(.success(chunk.map { Array($0.utf8) }))
    }
}
