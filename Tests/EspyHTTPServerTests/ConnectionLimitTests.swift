import EspyHTTP
import EspyHTTPServer
import EspyTestKit
import Foundation
import XCTest

final class ConnectionLimitTests: XCTestCase {
    func testConnectionBeyondMaxConnectionsGets503AndIsClosedWhileTheOthersKeepWorking() throws {
        let harness = try startServer { $0.maxConnections = 2 }
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
