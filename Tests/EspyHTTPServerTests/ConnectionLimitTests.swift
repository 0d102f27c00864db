import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

final class ConnectionLimitTests: XCTestCase {
    func testConnectionBeyondMaxConnectionsGets503AndIsClosedWhileTheOthersKeepWorking() throws {
        let harness = try startServer {
            $0.maxConnections = 2
            $0.reservedConnections = 0
        }
        let first = try harness.client(), second = try harness.client()
        let firstReader = ResponseReader(first), secondReader = ResponseReader(second)
        // A request on each makes sure both were accepted before the third connects.
        try first.send(request("GET", "/fast", id: "1a"))
        XCTAssertEqual(firstReader.next()?.bodyText, "fast 1a")
        try second.send(request("GET", "/fast", id: "2a"))
        XCTAssertEqual(secondReader.next()?.bodyText, "fast 2a")

        let third = try harness.client(receiveTimeout: 3)
        let thirdReader = ResponseReader(third)
        let rejection = try XCTUnwrap(thirdReader.next(), "the connection over the limit got no response")
        assertJSONError(rejection, status: 503)
        XCTAssertEqual(rejection.headers["connection"]?.lowercased(), "close")
        XCTAssertEqual(thirdReader.waitForEnd(within: 3), .closed, "the connection over the limit was not closed")

        try first.send(request("GET", "/fast", id: "1b"))
        XCTAssertEqual(firstReader.next()?.bodyText, "fast 1b", "an accepted connection stopped working")
        try second.send(request("GET", "/fast", id: "2b"))
        XCTAssertEqual(secondReader.next()?.bodyText, "fast 2b", "an accepted connection stopped working")
        XCTAssertEqual(try harness.sync { server, _ in server.connectionCount }, 2)
        XCTAssertEqual(try harness.sync { _, routes in routes.requestsSeen }, 4)
    }

    func testARefusedConnectionThatAlreadySentItsRequestReadsThe503_insteadOfAReset() throws {
        let harness = try startServer {
            $0.maxConnections = 1
            $0.reservedConnections = 0
        }
        let first = try harness.client()
        try first.send(request("GET", "/fast", id: "1"))
        XCTAssertEqual(ResponseReader(first).next()?.bodyText, "fast 1")
        // The refused client sends a whole request with a body before reading: a server that
        // closed with those bytes unread would reset the connection and the 503 would be lost.
        let refused = try harness.client(receiveTimeout: 5)
        try refused.send(request("POST", "/fast", body: String(repeating: "x", count: 60_000)))
        Thread.sleep(forTimeInterval: 0.2)
        let reader = ResponseReader(refused)
        let rejection = try XCTUnwrap(reader.next(), "the refused connection got no response")
        assertJSONError(rejection, status: 503)
        XCTAssertEqual(reader.waitForEnd(within: 5), .closed)
    }

    func testReservedPlacesServeReservedPathsOnly_soPeersStillGetInWhenClientsTookEveryPlace() throws {
        let harness = try startServer {
            $0.maxConnections = 1
            $0.reservedConnections = 1
            $0.reservedPathPrefixes = ["/fast"]
        }
        let client = try harness.client()
        try client.send(request("GET", "/get-only"))
        XCTAssertEqual(ResponseReader(client).next()?.status, 200)

        // Every ordinary place is taken: a client's request in the reserved place is refused...
        let intruder = try harness.client(receiveTimeout: 5)
        try intruder.send(request("GET", "/get-only"))
        let intruderReader = ResponseReader(intruder)
        assertJSONError(try XCTUnwrap(intruderReader.next()), status: 503)
        XCTAssertEqual(intruderReader.waitForEnd(within: 5), .closed)
        XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { server, _ in server.connectionCount } == 1 })

        // ...while a reserved path is served there, request after request.
        let peer = try harness.client(receiveTimeout: 5)
        let peerReader = ResponseReader(peer)
        for id in ["p1", "p2"] {
            try peer.send(request("GET", "/fast", id: id))
            XCTAssertEqual(peerReader.next()?.bodyText, "fast \(id)")
        }
    }

    func testAReservedPlaceIsNotHeldByAClientThatSendsNothing() throws {
        let harness = try startServer {
            $0.maxConnections = 1
            $0.reservedConnections = 1
            $0.reservedPathPrefixes = ["/fast"]
            $0.reservedFirstRequestMilliseconds = 200
        }
        let client = try harness.client()
        try client.send(request("GET", "/get-only"))
        XCTAssertEqual(ResponseReader(client).next()?.status, 200)
        let silent = try harness.client(receiveTimeout: 5)
        let reader = ResponseReader(silent)
        assertJSONError(try XCTUnwrap(reader.next(), "a silent connection kept its reserved place"), status: 503)
        XCTAssertEqual(reader.waitForEnd(within: 5), .closed)
    }

    func testClosedConnectionFreesItsPlaceForANewOne() throws {
        let harness = try startServer { $0.maxConnections = 1 }
        do {
            let first = try harness.client()
            try first.send(request("GET", "/fast", id: "first"))
            XCTAssertEqual(ResponseReader(first).next()?.bodyText, "fast first")
        } // closed by the client here
        XCTAssertTrue(try waitUntil(timeout: 5) { try harness.sync { server, _ in server.connectionCount } == 0 },
                      "server did not notice the client closing")
        let next = try harness.client()
        try next.send(request("GET", "/fast", id: "next"))
        let response = try XCTUnwrap(ResponseReader(next).next())
        XCTAssertEqual(response.status, 200, "a freed place was not reused")
        XCTAssertEqual(response.bodyText, "fast next")
    }
}
