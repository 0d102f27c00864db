import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

final class ClientDisconnectTests: XCTestCase {
    func testClientClosingWhileItsRequestIsHandledFreesTheConnection() throws {
        let harness = try startServer()
        do {
            let client = try harness.client()
            try client.send(request("GET", "/slow?ms=300"))
            XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { _, routes in routes.requestsSeen } == 1 })
        } // FIN while the handler still runs
        XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { server, _ in server.connectionCount } == 0 },
                      "connection not released after its client left")
        XCTAssertTrue(try waitUntil(timeout: 3) { try harness.sync { _, routes in routes.replyOrder.count } == 1 })
    }

    /// A client resets its connection (RST) while its request is being handled; reading is
    /// paused (the request said `Connection: close`), so the server only learns of it when it
    /// writes the response. writev(2) on a reset socket raises SIGPIPE (the executable ignores
    /// it, see `NodeSignalTests`; here a counting handler stands in) and fails with EPIPE: the
    /// server must then just close that connection.
    func testClientResettingItsConnectionOnlyClosesThatConnection() throws {
        let harness = try startServer()
        do {
            let client = try harness.client()
            try client.send(request("GET", "/slow?ms=300", headers: ["Connection: close"]))
            XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { _, routes in routes.requestsSeen } == 1 })
            var linger = linger(l_onoff: 1, l_linger: 0) // close() sends RST
            setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        }
        XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { server, _ in server.connectionCount } == 0 },
                      "connection not released after its client reset it")
        let next = try harness.client()
        try next.send(request("GET", "/fast", id: "after"))
        XCTAssertEqual(ResponseReader(next).next()?.bodyText, "fast after", "the server stopped serving")
    }
}
