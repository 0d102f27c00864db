import Foundation

/// A stand-in for a node that answers every request as the test scripts it, and remembers what
/// it was sent and when: how the command-line tests make a node answer exactly what an outage
/// makes a real one answer (a 503 naming some records), without an outage's timing.
final class CLIScriptedNode {
    struct Request {
        let method: String
        let target: String
        let body: [UInt8]
        let receivedAt: Date

        var bodyText: String { String(decoding: body, as: UTF8.self) }
        /// The NDJSON records of an import, one string per line.
        var lines: [String] { bodyText.split(separator: "\n").map(String.init) }
    }

    typealias Answer = (status: Int, body: String)

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received: [Request] = []
    private var isClosed = false
    private let respond: (Request, Int) -> Answer

    /// `respond` gets each request and how many came before it; it is called one at a time.
    init(respond: @escaping (_ request: Request, _ index: Int) -> Answer) throws {
        self.respond = respond
        (listener, port) = try CLIScriptedNode.listen()
        Thread { [self] in acceptConnections() }.start()
    }

    /// A socket listening on an ephemeral loopback port, and that port.
    private static func listen() throws -> (Int32, Int) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard listener >= 0, bound == 0, Glibc.listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }

    var http: String { "127.0.0.1:\(port)" }

    var requests: [Request] { lock.withLock { received } }

    func close() {
        let wasClosed = lock.withLock { () -> Bool in
            defer { isClosed = true }
            return isClosed
        }
        guard !wasClosed else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    deinit { close() }

    private func acceptConnections() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            if lock.withLock({ isClosed }) { Glibc.close(connection); return }
            Thread { [self] in serve(connection) }.start()
        }
    }

    /// Keep-alive HTTP/1.1 with Content-Length bodies: what the command-line client sends.
    private func serve(_ connection: Int32) {
        defer { Glibc.close(connection) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            while let request = takeRequest(from: &buffer) {
                let answer: Answer = lock.withLock {
                    let index = received.count
                    received.append(request)
                    return respond(request, index)
                }
                let body = Array(answer.body.utf8)
                let head = "HTTP/1.1 \(answer.status) Scripted\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
                let bytes = Array(head.utf8) + body
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    guard written > 0 else { return }
                    offset += written
                }
            }
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return }
            buffer += chunk[0..<count]
        }
    }

    private func takeRequest(from buffer: inout [UInt8]) -> Request? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard buffer.count >= 4, let headEnd = (0...(buffer.count - 4)).first(where: { Array(buffer[$0..<($0 + 4)]) == separator }) else {
            return nil
        }
        let head = String(decoding: buffer[0..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = head[0].split(separator: " ")
        let length = head.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        guard buffer.count >= headEnd + 4 + length, requestLine.count >= 2 else { return nil }
        let body = Array(buffer[(headEnd + 4)..<(headEnd + 4 + length)])
        buffer.removeFirst(headEnd + 4 + length)
        return Request(method: String(requestLine[0]), target: String(requestLine[1]), body: body, receivedAt: Date())
    }
}
