import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

final class StreamingTests: XCTestCase {
    func testStreamedResponseArrivesChunkedAndComplete() throws {
        let harness = try startServer()
        let client = try harness.client()
        try client.send(request("GET", "/stream?chunks=200&size=10240", id: "s"))
        let response = try XCTUnwrap(ResponseReader(client).next(), "stream did not complete")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["transfer-encoding"]?.lowercased(), "chunked")
        XCTAssertNil(response.headers["content-length"])
        XCTAssertEqual(response.body.count, 200 * 10_240)
        XCTAssertTrue(bodyMatchesPattern(response.body, chunkSize: 10_240), "streamed bytes differ from the produced ones")
        let finished = try harness.sync { _, routes in routes.streams.first?.finished }
        XCTAssertEqual(finished, true)
    }

    func testStreamDeliveringChunksLaterIsSentCompleteAndTheConnectionIsReusable() throws {
        let harness = try startServer()
        let client = try harness.client()
        let reader = ResponseReader(client)
        try client.send(request("GET", "/stream?chunks=50&size=3000&async=1", id: "s") + request("GET", "/fast", id: "after"))
        let responses = reader.next(2)
        XCTAssertEqual(responses.count, 2)
        XCTAssertEqual(responses.first?.body.count, 50 * 3_000)
        XCTAssertTrue(responses.first.map { bodyMatchesPattern($0.body, chunkSize: 3_000) } ?? false)
        XCTAssertEqual(responses.last?.bodyText, "fast after")
    }

    func testEmptyStreamSendsOnlyTheLastChunk() throws {
        let harness = try startServer()
        let client = try harness.client()
        try client.send(request("GET", "/stream?chunks=0", id: "empty") + request("GET", "/fast", id: "after"))
        let responses = ResponseReader(client).next(2)
        XCTAssertEqual(responses.map(\.status), [200, 200])
        XCTAssertEqual(responses.first?.body, [])
        XCTAssertEqual(responses.last?.bodyText, "fast after")
    }

    func testSlowReaderGetsEveryByteAndTheServerWaitsForIt() throws {
        let harness = try startServer()
        let client = try harness.client()
        // Small, but above loopback's 64 KB MSS (a smaller window stalls TCP on persist timers).
        client.setReceiveBufferSize(256 * 1024)
        let chunks = 2_000, size = 10_240 // 20 MB: more than the kernel buffers on both sides
        try client.send(request("GET", "/stream?chunks=\(chunks)&size=\(size)", id: "big"))
        Thread.sleep(forTimeInterval: 0.8)
        let producedWhileNotReading = try harness.sync { _, routes in routes.streams.first?.produced ?? -1 }
        XCTAssertGreaterThan(producedWhileNotReading, 0, "the stream never started")
        XCTAssertLessThan(producedWhileNotReading, chunks / 2,
                          "the server pulled the whole stream although the client read nothing (no back-pressure)")

        var verifier = ChunkedBodyVerifier(chunkSize: size)
        var reads = 0
        while !verifier.isComplete, verifier.failure == nil, let bytes = client.receive() {
            verifier.consume(bytes)
            reads += 1
            if reads % 4 == 0 { usleep(1_000) } // read slowly
        }
        XCTAssertNil(verifier.failure)
        XCTAssertTrue(verifier.isComplete, "stream ended early after \(verifier.bodyBytes) body bytes")
        XCTAssertEqual(verifier.bodyBytes, chunks * size)
        XCTAssertTrue(verifier.head.contains("Transfer-Encoding: chunked"))
        XCTAssertTrue(try waitUntil(timeout: 3) { try harness.sync { _, routes in routes.streams.first?.finished } == true })
        XCTAssertTrue(try waitUntil(timeout: 3) { harness.accessLog.entries.first?.bodyBytes == chunks * size },
                      "access log did not record the streamed bytes: \(harness.accessLog.entries.map(\.bodyBytes))")
    }

    func testClientLeavingMidStreamCancelsTheStreamAndFreesTheConnection() throws {
        let harness = try startServer()
        do {
            let client = try harness.client()
            client.setReceiveBufferSize(16 * 1024)
            try client.send(request("GET", "/stream?chunks=5000&size=10240"))
            XCTAssertNotNil(client.receive(), "stream did not start")
        } // the client closes with most of the stream unread
        XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { server, _ in server.connectionCount } == 0 },
                      "connection stayed open after its client left mid-stream")
        let (cancelled, finished) = try harness.sync { _, routes in (routes.streams.first?.cancelled, routes.streams.first?.finished) }
        XCTAssertEqual(cancelled, true, "the stream was not cancelled")
        XCTAssertEqual(finished, false)
    }

    /// `ResponseBodyStream.nextChunk` may deliver "now or later". Delivered now, each chunk's
    /// socket write completes synchronously (uv_try_write) and calls `pullChunk` again from
    /// inside the previous delivery, so the loop thread's stack grows with every chunk until
    /// the socket pushes back. With many small chunks and a fast reader that is an unbounded
    /// recursion (a stack overflow crashes the node); it should be constant.
    func testSynchronouslyDeliveredStreamDoesNotGrowTheStackPerChunk() throws {
        let harness = try startServer()
        let client = try harness.client()
        // 1,000 × 16 bytes: small enough to fit the socket buffers (so every write completes at
        // once) and few enough not to overflow the stack while it recurses.
        try client.send(request("GET", "/stream?chunks=1000&size=16"))
        let response = try XCTUnwrap(ResponseReader(client).next())
        XCTAssertEqual(response.body.count, 16_000)
        let growth = try harness.sync { _, routes in routes.streams.first?.maxStackGrowth ?? -1 }
        XCTAssertLessThan(growth, 64 * 1024, "the loop thread's stack grew by \(growth) bytes over 1,000 chunks")
    }
}

/// True when `body` is what TestStream produces: chunk i filled with `TestStream.fill(i)`.
func bodyMatchesPattern(_ body: [UInt8], chunkSize: Int) -> Bool {
    for (index, byte) in body.enumerated() where byte != TestStream.fill(index / chunkSize) { return false }
    return true
}

/// Decodes a chunked response incrementally and checks the body against TestStream's pattern,
/// without keeping it (for bodies too large to re-parse on every read).
struct ChunkedBodyVerifier {
    let chunkSize: Int
    private(set) var head = ""
    private(set) var bodyBytes = 0
    private(set) var isComplete = false
    private(set) var failure: String?
    private var pending: [UInt8] = []
    private enum State { case head, sizeLine, data(Int), dataEnd, trailer }
    private var state = State.head

    init(chunkSize: Int) { self.chunkSize = chunkSize }

    mutating func consume(_ bytes: [UInt8]) {
        pending += bytes
        var position = 0
        loop: while failure == nil, !isComplete {
            switch state {
            case .head:
                guard let end = Array(pending[position...]).indexOfCRLFCRLF() else { break loop }
                head = String(decoding: pending[position..<(position + end)], as: UTF8.self)
                position += end + 4
                state = .sizeLine
            case .sizeLine:
                guard let end = lineEnd(from: position) else { break loop }
                let text = String(decoding: pending[position..<end], as: UTF8.self)
                guard let size = Int(text.split(separator: ";").first.map(String.init) ?? "", radix: 16) else {
                    failure = "bad chunk size line '\(text)'"
                    break loop
                }
                position = end + 2
                state = size == 0 ? .trailer : .data(size)
            case .data(let remaining):
                let available = min(remaining, pending.count - position)
                guard available > 0 else { break loop }
                for offset in 0..<available where pending[position + offset] != TestStream.fill((bodyBytes + offset) / chunkSize) {
                    failure = "wrong byte at body offset \(bodyBytes + offset)"
                    break loop
                }
                bodyBytes += available
                position += available
                state = remaining == available ? .dataEnd : .data(remaining - available)
            case .dataEnd:
                guard pending.count - position >= 2 else { break loop }
                guard pending[position] == 13, pending[position + 1] == 10 else {
                    failure = "chunk not followed by CRLF"
                    break loop
                }
                position += 2
                state = .sizeLine
            case .trailer:
                guard let end = lineEnd(from: position) else { break loop }
                isComplete = end == position // an empty line ends the trailer
                position = end + 2
            }
        }
        pending.removeFirst(position)
    }

    private func lineEnd(from position: Int) -> Int? {
        var index = position
        while index + 1 < pending.count {
            if pending[index] == 13 && pending[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }
}
