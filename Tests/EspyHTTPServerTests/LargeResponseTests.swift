import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

/// A response body known up front is handed to the socket in one write; what the kernel does
/// not take at once waits in libuv's write queue. These tests read such a response slowly
/// (the client does not read for a while, with a small receive buffer) and check that nothing
/// the server does meanwhile cuts it off.
final class LargeResponseTests: XCTestCase {
    static let size = 16_000_000

    func testSlowReaderGetsALargeResponseCompletelyOnAKeepAliveConnection() throws {
        let harness = try startServer()
        let client = try slowClient(harness)
        try client.send(request("GET", "/big?bytes=\(Self.size)", id: "big"))
        Thread.sleep(forTimeInterval: 1)
        try client.send(request("GET", "/fast", id: "after"))
        let responses = ResponseReader(client).next(2)
        XCTAssertEqual(responses.count, 2)
        XCTAssertEqual(responses.first?.body.count, Self.size)
        XCTAssertTrue(responses.first.map { bodyMatchesPattern($0.body, chunkSize: 10_240) } ?? false)
        XCTAssertEqual(responses.last?.bodyText, "fast after")
    }

    /// With `Connection: close`, `closeAfterWrites` starts the lingering-close clock
    /// (`lingeringSince`) when the response is queued, not when `uv_shutdown` completed (FIN
    /// sent). Two seconds later the sweep calls `close()` and libuv drops whatever is still in
    /// its write queue: a client reading a large response slowly gets it truncated.
    func testLingeringCloseDoesNotCutOffAResponseStillBeingWritten() throws {
        let harness = try startServer()
        let client = try slowClient(harness)
        try client.send(request("GET", "/big?bytes=\(Self.size)", id: "big", headers: ["Connection: close"]))
        Thread.sleep(forTimeInterval: 3.5) // past the 2 s linger limit (plus a sweep)
        assertCompleteBigResponse(client.receiveUntilClosed())
    }

    /// The idle sweep closes a connection whose slots are empty and whose last read is older
    /// than the idle timeout, without looking at `tcp.pendingWriteBytes`: a response that is
    /// still being written to a slow reader is cut off.
    func testIdleTimeoutDoesNotCutOffAResponseStillBeingWritten() throws {
        let harness = try startServer { $0.idleTimeoutMilliseconds = 1_500 }
        let client = try slowClient(harness)
        try client.send(request("GET", "/big?bytes=\(Self.size)", id: "big"))
        Thread.sleep(forTimeInterval: 3.5) // past the idle timeout (plus a sweep)
        let reader = ResponseReader(client)
        if let response = reader.next() {
            XCTAssertEqual(response.body.count, Self.size)
        } else {
            assertCompleteBigResponse(reader.buffer) // what arrived before the server closed
        }
    }

    /// `HTTPServerConnection.beginShutdown` closes at once a connection with no open slot, even when
    /// its last response is still in libuv's write queue: graceful shutdown truncates a
    /// response the server already considers sent.
    func testGracefulShutdownDoesNotCutOffAResponseStillBeingWritten() throws {
        let harness = try startServer()
        let client = try slowClient(harness)
        try client.send(request("GET", "/big?bytes=\(Self.size)", id: "big"))
        XCTAssertTrue(waitUntil(timeout: 10) { harness.accessLog.entries.count == 1 }, "response never produced")
        Thread.sleep(forTimeInterval: 0.3)
        let completed = Completion()
        try harness.sync { server, _ in server.shutdown { completed.mark() } }
        Thread.sleep(forTimeInterval: 0.5)
        assertCompleteBigResponse(client.receiveUntilClosed())
        XCTAssertTrue(waitUntil(timeout: 5) { completed.isMarked })
    }

    private func slowClient(_ harness: ServerHarness) throws -> RawHTTPClient {
        let client = try harness.client(receiveTimeout: 5)
        client.setReceiveBufferSize(256 * 1024)
        return client
    }

    private func assertCompleteBigResponse(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        guard let headEnd = bytes.indexOfCRLFCRLF() else {
            return XCTFail("no response head among \(bytes.count) bytes", file: file, line: line)
        }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK"), head, file: file, line: line)
        XCTAssertTrue(head.contains("Content-Length: \(Self.size)"), head, file: file, line: line)
        let bodyBytes = bytes.count - headEnd - 4
        XCTAssertEqual(bodyBytes, Self.size, "response cut off after \(bodyBytes) of \(Self.size) body bytes",
                       file: file, line: line)
    }
}
