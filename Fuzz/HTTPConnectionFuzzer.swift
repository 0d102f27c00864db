import EspyHTTP
import EspyLoop

// The server connection's state machine (keep-alive, pipelining, streamed bodies, lingering
// close, timeouts, shutdown) driven by a scripted shell.
//
// Input: a flags byte, then operations, one byte each plus their arguments: read bytes (in
// whatever split the script says), answer a dispatched request (bytes, HEAD-style, streamed),
// deliver or fail a chunk, complete a write, let time pass, FIN from the client, shutdown.
// The shell plays by the machine's rules (it writes only after `.write`, reads only while
// reading, completes only writes it started), so anything that traps is the machine's fault.
// Checked: nothing happens after `.close`; reading starts and stops alternately.

private let address = try! SocketAddress(host: "127.0.0.1", port: 0)

private final class ScriptedStream: ResponseBodyStream {
    func nextChunk(_ deliver: @escaping (Result<[UInt8]?, Error>) -> Void) {}
    func cancel() {}
}

private struct StreamFailed: Error {}

private struct Script {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var isAtEnd: Bool { position >= bytes.count }
    mutating func next() -> UInt8 {
        defer { position += 1 }
        return position < bytes.count ? bytes[position] : 0
    }
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let end = min(bytes.count, position + count)
        defer { position = end }
        return UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[min(position, end)..<end]))
    }
}

private struct Shell {
    var machine: HTTPConnectionMachine
    var now: UInt64 = 0
    var unanswered: [UInt64] = []
    var writesInFlight = 0
    var isReading = false
    var isChunkAsked = false
    var isFINAsked = false
    var isClosed = false
    let writesCompleteAtOnce: Bool

    mutating func perform(_ event: (inout HTTPConnectionMachine, inout [HTTPConnectionAction]) -> Void) {
        var actions: [HTTPConnectionAction] = []
        event(&machine, &actions)
        while !actions.isEmpty {
            let batch = actions
            actions = []
            for action in batch { handle(action, followUps: &actions) }
        }
    }

    private mutating func handle(_ action: HTTPConnectionAction, followUps: inout [HTTPConnectionAction]) {
        fuzzCheck(!isClosed, "action \(action) after close")
        switch action {
        case .startReading:
            fuzzCheck(!isReading, "startReading while reading")
            isReading = true
        case .stopReading:
            fuzzCheck(isReading, "stopReading while not reading")
            isReading = false
        case .write:
            var buffer: [UInt8] = []
            guard machine.takeOutput(into: &buffer) else { return }
            fuzzCheck(!buffer.isEmpty, "an empty write")
            if writesCompleteAtOnce {
                machine.writeCompleted(succeeded: true, now: now, into: &followUps)
            } else {
                writesInFlight += 1
            }
        case .dispatch(_, let slot):
            unanswered.append(slot)
        case .pullChunk:
            isChunkAsked = true
        case .cancelStream:
            isChunkAsked = false
        case .shutdownWrites:
            isFINAsked = true
        case .releasePlace, .logResponse:
            break
        case .close:
            isClosed = true
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPConnection(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var script = Script(bytes: UnsafeBufferPointer(start: data, count: size))
    let flags = script.next()
    var settings = HTTPServerSettings(address: address)
    settings.reservedPathPrefixes = ["/internal/", "/metrics"]
    settings.idleTimeoutMilliseconds = 1_000
    settings.requestTimeoutMilliseconds = 700
    settings.reservedFirstRequestMilliseconds = 300
    settings.maxPipelinedRequests = 4
    settings.limits = HTTPRequestParser.Limits(maxHeaderBytes: 300, maxBodyBytes: 100)
    if flags & 1 != 0 { settings.onResponse = { _ in } }
    var rules = HTTPConnectionRules(settings: settings, refusalMessage: "too many connections", accessLogClock: { 0 })
    rules.lingerMilliseconds = 400
    var shell = Shell(machine: HTTPConnectionMachine(rules: rules, peer: "fuzz", now: 0, httpDate: "Thu, 01 Jan 1970 00:00:00 GMT"),
                      writesCompleteAtOnce: flags & 2 != 0)
    if flags & 8 != 0 {  // over the connection limit: answered 503 instead of started
        shell.perform { $0.refuse(HTTPResponse.error(.serviceUnavailable, "too many connections"), now: 0, into: &$1) }
    } else {
        shell.perform { $0.start(reservedOnly: flags & 4 != 0, into: &$1) }
    }

    while !script.isAtEnd && !shell.isClosed {
        let now = shell.now
        switch script.next() % 10 {
        case 0:
            let bytes = script.take(Int(script.next() % 64))
            if shell.isReading { shell.perform { $0.bytesRead(bytes, now: now, into: &$1) } }
        case 1, 2:
            guard !shell.unanswered.isEmpty else { continue }
            let choice = Int(script.next()) % shell.unanswered.count
            let slot = shell.unanswered.remove(at: choice)
            let response = scriptedResponse(&script)
            shell.perform { $0.responseReady(response, slot: slot, now: now, into: &$1) }
            if script.next() & 1 == 1 {  // a second reply to the same slot is ignored
                shell.perform { $0.responseReady(response, slot: slot, now: now, into: &$1) }
            }
        case 3:
            guard shell.isChunkAsked else { continue }
            shell.isChunkAsked = false
            let kind = script.next()
            let chunk: Result<[UInt8]?, Error> = switch kind % 4 {
            case 0: .success(nil)
            case 1: .failure(StreamFailed())
            default: .success(Array(repeating: kind, count: Int(kind % 20)))
            }
            shell.perform { $0.chunkDelivered(chunk, now: now, into: &$1) }
        case 4:
            guard shell.writesInFlight > 0 else { continue }
            shell.writesInFlight -= 1
            let succeeded = script.next() % 8 != 0
            shell.perform { $0.writeCompleted(succeeded: succeeded, now: now, into: &$1) }
        case 5:
            shell.now += UInt64(script.next()) * 10
            let later = shell.now
            shell.perform { $0.tick(now: later, into: &$1) }
        case 6:
            if shell.isReading { shell.perform { $0.peerClosed(now: now, into: &$1) } }
        case 7:
            shell.perform { $0.shutdownRequested(now: now, into: &$1) }
        case 8:
            // FIN goes out once every write before it has.
            guard shell.isFINAsked, shell.writesInFlight == 0 else { continue }
            shell.isFINAsked = false
            let succeeded = script.next() % 8 != 0
            shell.perform { $0.writesShutDown(succeeded: succeeded, now: now, into: &$1) }
        default:
            switch script.next() % 8 {
            case 0: shell.perform { $0.readFailed(into: &$1) }
            case 1: shell.perform { $0.abort(into: &$1) }
            default: shell.machine.httpDate = "Fri, 02 Jan 1970 00:00:00 GMT"
            }
        }
    }
    return 0
}

private func scriptedResponse(_ script: inout Script) -> HTTPResponse {
    let kind = script.next()
    let status: HTTPStatus = [.ok, .badRequest, .serviceUnavailable, .payloadTooLarge][Int(kind >> 6)]
    if kind & 1 == 1 { return HTTPResponse(status: status, body: .stream(ScriptedStream())) }
    return HTTPResponse(status: status, headers: [("X-Fuzz", "1")], body: .bytes(Array(repeating: 0x61, count: Int(kind % 50))))
}
