import EspyLoop
import EspyTestKit
import Foundation
import XCTest

final class TCPTests: XCTestCase {
    /// Accepts connections and echoes every byte back; closes a connection when its peer does.
    final class EchoServer {
        let listener: TCPListener
        var accepted: [TCPConnection] = []

        init(loop: EventLoop) throws {
            var onConnection: (TCPConnection) -> Void = { _ in }
            listener = try TCPListener(loop: loop, address: try SocketAddress(host: "127.0.0.1", port: 0)) { onConnection($0) }
            onConnection = { [unowned self] connection in
                self.accepted.append(connection)
                connection.startReading { [unowned connection] event in
                    switch event {
                    case .data(let bytes): connection.write(bytes)
                    case .end, .failed: connection.close()
                    }
                }
            }
        }

        func closeAll() {
            listener.close()
            for connection in accepted { connection.close() }
        }
    }

    func testConnectAndEchoRoundTripOnTheSameLoop() throws {
        let loopThread = try startedLoopThread()
        let server = try loopThread.sync { try EchoServer(loop: loopThread.loop) }
        let client = Box<TCPConnection?>(nil)
        let completions = Box<[Int]>([])
        defer { stopLoop(loopThread) { server.closeAll(); client.value?.close() } }

        // 512 KiB in 32 writes: more than a socket takes at once, so writes queue, and their
        // completions must come back in write order.
        let pieces = (0..<32).map { piece in (0..<16_384).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ piece) } }
        let payload = pieces.flatMap { $0 }
        let serverAddress = try loopThread.sync { server.listener.localAddress }
        XCTAssertEqual(serverAddress.host, "127.0.0.1")
        XCTAssertNotEqual(serverAddress.port, 0, "listener did not report the port it bound")

        let outcome = loopThread.await(timeout: 20) { (done: @escaping (Result<[UInt8], LoopError>) -> Void) in
            TCPConnection.connect(loop: loopThread.loop, to: serverAddress) { result in
                switch result {
                case .failure(let error):
                    done(.failure(error))
                case .success(let connection):
                    client.value = connection
                    var echo: [UInt8] = []
                    var finished = false
                    func finish(_ result: Result<[UInt8], LoopError>) {
                        guard !finished else { return }
                        finished = true
                        done(result)
                    }
                    connection.startReading { event in
                        switch event {
                        case .data(let bytes):
                            echo.append(contentsOf: bytes)
                            if echo.count >= payload.count { finish(.success(echo)) }
                        case .end:
                            finish(.success(echo))
                        case .failed(let error):
                            finish(.failure(error))
                        }
                    }
                    for (index, piece) in pieces.enumerated() {
                        connection.write(piece) { error in
                            XCTAssertNil(error)
                            completions.value.append(index)
                        }
                    }
                }
            }
        }
        guard case .success(let echo)? = outcome else {
            return XCTFail("echo round trip did not finish: \(String(describing: outcome))")
        }
        XCTAssertEqual(echo.count, payload.count)
        XCTAssertTrue(echo == payload, "echoed bytes differ from what was sent")
        XCTAssertTrue(try waitUntil(timeout: 5) { try loopThread.sync { completions.value.count } >= pieces.count })
        XCTAssertEqual(try loopThread.sync { completions.value }, Array(0..<pieces.count),
                       "write completions out of order or missing")

        let peer = try loopThread.sync { server.accepted.first?.peerAddress }
        XCTAssertEqual(peer?.host, "127.0.0.1")
        XCTAssertEqual(try loopThread.sync { client.value?.pendingWriteBytes }, 0)
    }

    func testServerSeesEndWhenClientClosesItsConnection() throws {
        let loopThread = try startedLoopThread()
        let listener = Box<TCPListener?>(nil)
        let serverSide = Box<TCPConnection?>(nil)
        defer { stopLoop(loopThread) { listener.value?.close(); serverSide.value?.close() } }
        let sawEnd = DispatchSemaphore(value: 0)
        let port = try loopThread.sync { () throws -> Int in
            let created = try TCPListener(loop: loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: 0)) { connection in
                serverSide.value = connection
                connection.startReading { event in
                    if case .end = event { sawEnd.signal() }
                }
            }
            listener.value = created
            return created.localAddress.port
        }
        do {
            let raw = try RawHTTPClient(port: port)
            try raw.send("bye")
        } // deinit closes the socket
        XCTAssertEqual(sawEnd.wait(timeout: .now() + 5), .success, "no .end read event after the peer closed")
    }

    func testConnectToAPortWithNoListenerFailsWithConnectionRefused() throws {
        let loopThread = try startedLoopThread()
        defer { stopLoop(loopThread) }
        // Bind and close a listener to get a port nothing listens on.
        let port = try loopThread.sync { () throws -> Int in
            let listener = try TCPListener(loop: loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: 0)) { $0.close() }
            let port = listener.localAddress.port
            listener.close()
            return port
        }
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        let outcome = loopThread.await(timeout: 10) { (done: @escaping (Result<TCPConnection, LoopError>) -> Void) in
            TCPConnection.connect(loop: loopThread.loop, to: address) { result in
                if case .success(let connection) = result { connection.close() }
                done(result)
            }
        }
        guard case .failure(let error)? = outcome else {
            return XCTFail("connect to a closed port did not fail: \(String(describing: outcome))")
        }
        XCTAssertEqual(error.name, "ECONNREFUSED")
    }

    func testWriteOnAClosedConnectionReportsCancelled() throws {
        let loopThread = try startedLoopThread()
        let server = try loopThread.sync { try EchoServer(loop: loopThread.loop) }
        defer { stopLoop(loopThread) { server.closeAll() } }
        let address = try loopThread.sync { server.listener.localAddress }
        let outcome = loopThread.await(timeout: 10) { (done: @escaping (String) -> Void) in
            TCPConnection.connect(loop: loopThread.loop, to: address) { result in
                guard case .success(let connection) = result else { return done("connect failed") }
                connection.close()
                connection.write([1, 2, 3]) { error in done(error?.name ?? "no error") }
            }
        }
        XCTAssertEqual(outcome, "ECANCELED")
    }
}
