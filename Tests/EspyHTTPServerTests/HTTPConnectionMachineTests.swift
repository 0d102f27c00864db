import EspyHTTP
@testable import EspyHTTPServer
import XCTest

/// The connection's decisions, event by event, with the clock in the test's hand: the
/// regressions `LargeResponseTests` reproduces over sockets with sleeps, here instantly.
final class HTTPConnectionMachineTests: XCTestCase {
    private let get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    private let bigBody = String(repeating: "x", count: 100_000)

    // MARK: A response still being written is not cut off

    func testLingeringCloseStartsItsClockOnlyOnceTheLastByteIsWritten() {
        let connection = ConnectionMachineDriver()
        connection.socketTakesWritesAtOnce = false
        connection.read("GET /big HTTP/1.1\r\nConnection: close\r\n\r\n")
        connection.reply(to: 0, body: bigBody)
        XCTAssertTrue(connection.isFINRequested)
        XCTAssertFalse(connection.isFINSent, "FIN before the response is written")
        connection.tick(at: 10_000) // long past the linger timeout while the client reads slowly
        XCTAssertFalse(connection.isClosed, "lingering close cut off a response still being written")
        connection.completeWrites(at: 10_000)
        XCTAssertTrue(connection.isFINSent)
        XCTAssertTrue(connection.isReading, "lingering reads (and discards) until the client closes")
        connection.tick(at: 11_999)
        XCTAssertFalse(connection.isClosed)
        XCTAssertEqual(connection.writtenResponses.count, 1)
        XCTAssertTrue(connection.writtenText.hasSuffix(bigBody))
    }

    func testIdleTimeoutDoesNotCutOffAResponseStillBeingWritten() {
        let connection = ConnectionMachineDriver { $0.idleTimeoutMilliseconds = 1_500 }
        connection.socketTakesWritesAtOnce = false
        connection.read(get)
        connection.reply(to: 0, body: bigBody)
        connection.tick(at: 3_500)
        XCTAssertFalse(connection.isClosed, "idle timeout cut off a response still being written")
        connection.completeWrites(at: 3_500)
        connection.tick(at: 4_999)
        XCTAssertFalse(connection.isClosed, "idle time counts from the last byte written")
        connection.tick(at: 5_000)
        XCTAssertTrue(connection.isClosed)
    }

    func testGracefulShutdownDoesNotCutOffAResponseStillBeingWritten() {
        let connection = ConnectionMachineDriver()
        connection.socketTakesWritesAtOnce = false
        connection.read(get)
        connection.reply(to: 0, body: bigBody, at: 100)
        connection.shutdown(at: 400)
        XCTAssertFalse(connection.isClosed, "shutdown cut off a response still being written")
        XCTAssertTrue(connection.isFINRequested)
        connection.completeWrites(at: 900)
        XCTAssertTrue(connection.isFINSent)
        connection.peerCloses(at: 950)
        XCTAssertTrue(connection.isClosed)
        XCTAssertTrue(connection.writtenText.hasSuffix(bigBody))
    }

    func testSlowReaderOnAKeepAliveConnectionGetsTheNextResponseAfterTheLargeOne() {
        let connection = ConnectionMachineDriver { $0.idleTimeoutMilliseconds = 1_000 }
        connection.socketTakesWritesAtOnce = false
        connection.read("GET /big HTTP/1.1\r\n\r\n")
        connection.reply(to: 0, body: bigBody)
        connection.tick(at: 1_000)
        connection.read("GET /fast HTTP/1.1\r\n\r\n", at: 1_000)
        connection.reply(to: 1, body: "fast")
        connection.tick(at: 2_500)
        XCTAssertFalse(connection.isClosed)
        connection.completeWrites(at: 3_000)
        XCTAssertEqual(connection.writtenResponses.count, 2)
        XCTAssertTrue(connection.writtenResponses.first?.hasSuffix(bigBody) ?? false)
        XCTAssertTrue(connection.writtenResponses.last?.hasSuffix("\r\n\r\nfast") ?? false)
        XCTAssertFalse(connection.writtenText.contains("Connection: close"))
    }

    func testAStreamIsAskedForItsNextChunkOnlyOnceThePreviousOneIsWritten() {
        let connection = ConnectionMachineDriver()
        connection.socketTakesWritesAtOnce = false
        let stream = HandFedStream()
        connection.read(get)
        connection.reply(to: 0, HTTPResponse(body: .stream(stream)))
        XCTAssertTrue(stream.isAsked)
        stream.send("first")
        XCTAssertFalse(stream.isAsked, "next chunk asked for before the socket took the previous one")
        connection.completeWrites()
        XCTAssertTrue(stream.isAsked)
        stream.send("second")
        connection.completeWrites()
        stream.send(nil)
        connection.completeWrites()
        XCTAssertTrue(connection.writtenText.hasSuffix("5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n"), connection.writtenText)
        XCTAssertTrue(connection.isReading)
        XCTAssertFalse(connection.isClosed)
    }

    // MARK: Keep-alive and pipelining

    func testPipelinedResponsesAreWrittenInRequestOrderWhicheverIsAnsweredFirst() {
        let connection = ConnectionMachineDriver()
        connection.read(get + get)
        XCTAssertEqual(connection.dispatched.map(\.slot), [0, 1])
        connection.reply(to: 1, body: "second")
        XCTAssertTrue(connection.written.isEmpty, "a later response overtook an earlier one")
        connection.reply(to: 0, body: "first")
        XCTAssertEqual(connection.writtenResponses.map { $0.components(separatedBy: "\r\n\r\n").last }, ["first", "second"])
        XCTAssertEqual(connection.writeCount, 1, "responses ready together share one write")
        XCTAssertFalse(connection.writtenText.contains("Connection: close"))
        XCTAssertTrue(connection.isReading)
    }

    func testSecondReplyToTheSameRequestIsIgnored() {
        let connection = ConnectionMachineDriver()
        connection.read(get + get)
        connection.reply(to: 1, body: "second")
        connection.reply(to: 1, body: "again")
        connection.reply(to: 0, body: "first")
        connection.reply(to: 0, body: "again")
        XCTAssertEqual(connection.writtenResponses.count, 2)
        XCTAssertFalse(connection.writtenText.contains("again"))
    }

    func testReadingPausesAtThePipeliningLimitAndResumesOnceAnswered() {
        let connection = ConnectionMachineDriver { $0.maxPipelinedRequests = 2 }
        connection.read(get + get)
        XCTAssertFalse(connection.isReading)
        connection.reply(to: 0, body: "1")
        connection.reply(to: 1, body: "2")
        XCTAssertTrue(connection.isReading)
    }

    func testConnectionCloseRequestIsAnsweredWithConnectionCloseThenFIN() {
        let connection = ConnectionMachineDriver()
        connection.read("GET /a HTTP/1.1\r\nConnection: close\r\n\r\n" + get)
        XCTAssertEqual(connection.dispatched.count, 1, "a request after Connection: close was taken")
        XCTAssertFalse(connection.isReading)
        connection.reply(to: 0, body: "bye")
        XCTAssertTrue(connection.writtenText.contains("Connection: close\r\n"))
        XCTAssertTrue(connection.isFINSent)
    }

    func testHTTP10KeepsTheConnectionOnlyWhenAskedTo() {
        let closing = ConnectionMachineDriver()
        closing.read("GET /a HTTP/1.0\r\n\r\n")
        closing.reply(to: 0, body: "1.0")
        XCTAssertTrue(closing.writtenText.contains("Connection: close\r\n"))
        XCTAssertTrue(closing.isFINSent)

        let keeping = ConnectionMachineDriver()
        keeping.read("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        keeping.reply(to: 0, body: "1.0")
        XCTAssertFalse(keeping.writtenText.contains("Connection: close"))
        XCTAssertFalse(keeping.isFINRequested)
        XCTAssertTrue(keeping.isReading)
    }

    func testDuringShutdownOnlyTheLastPipelinedResponseSaysConnectionClose() {
        let connection = ConnectionMachineDriver()
        connection.read(get + get)
        connection.shutdown()
        XCTAssertFalse(connection.isReading)
        connection.reply(to: 1, body: "second")
        connection.reply(to: 0, body: "first")
        let responses = connection.writtenResponses
        XCTAssertEqual(responses.count, 2)
        XCTAssertFalse(responses[0].contains("Connection: close"))
        XCTAssertTrue(responses[1].contains("Connection: close"))
        XCTAssertTrue(connection.isFINSent)
    }

    func testHEADOfAStreamedResponseCancelsTheStreamAndSendsNoBody() {
        let connection = ConnectionMachineDriver()
        let stream = HandFedStream()
        connection.read("HEAD /a HTTP/1.1\r\n\r\n")
        connection.reply(to: 0, HTTPResponse(body: .stream(stream)))
        XCTAssertTrue(stream.isCancelled)
        XCTAssertFalse(stream.isAsked)
        XCTAssertTrue(connection.writtenText.hasSuffix("Transfer-Encoding: chunked\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n"))
    }

    func testContinueForAPipelinedRequestWaitsUntilItCannotOvertakeAnEarlierResponse() {
        let connection = ConnectionMachineDriver()
        connection.read(get + "POST /b HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertTrue(connection.written.isEmpty)
        connection.reply(to: 0, body: "first")
        XCTAssertTrue(connection.writtenText.hasSuffix("first" + "HTTP/1.1 100 Continue\r\n\r\n"), connection.writtenText)
    }

    // MARK: Timeouts

    func testIdleTimeoutClosesAConnectionIdleSinceItsLastResponse() {
        let connection = ConnectionMachineDriver { $0.idleTimeoutMilliseconds = 2_000 }
        connection.read(get)
        connection.tick(at: 3_000)
        XCTAssertFalse(connection.isClosed, "idle timeout ran while the handler was working")
        connection.reply(to: 0, body: "slow", at: 3_000)
        connection.tick(at: 4_999)
        XCTAssertFalse(connection.isClosed)
        connection.tick(at: 5_000)
        XCTAssertTrue(connection.isClosed)
    }

    func testRequestNotReceivedInTimeGets408ThenTheConnectionCloses() {
        let connection = ConnectionMachineDriver { $0.requestTimeoutMilliseconds = 1_000 }
        connection.read("GET /a HTTP/1.1\r\n", at: 500)
        connection.read("Host: x\r\n", at: 1_200)
        connection.tick(at: 1_499)
        XCTAssertTrue(connection.written.isEmpty)
        connection.tick(at: 1_500)
        XCTAssertTrue(connection.writtenText.hasPrefix("HTTP/1.1 408 "), connection.writtenText)
        XCTAssertTrue(connection.writtenText.contains("Connection: close\r\n"))
        XCTAssertTrue(connection.isFINSent)
        XCTAssertTrue(connection.dispatched.isEmpty)
        connection.tick(at: 2_600)
        XCTAssertEqual(connection.writtenResponses.count, 1)
    }

    func testRequestTimeoutDoesNotCoverTimeSpentInTheHandler() {
        let connection = ConnectionMachineDriver { $0.requestTimeoutMilliseconds = 1_000 }
        connection.read(get)
        connection.tick(at: 5_000)
        XCTAssertTrue(connection.written.isEmpty)
        connection.reply(to: 0, body: "late")
        XCTAssertFalse(connection.writtenText.contains("408"))
    }

    func testNoSecondErrorResponseAfterA400WaitingBehindASlowRequest() {
        let connection = ConnectionMachineDriver { $0.requestTimeoutMilliseconds = 1_000 }
        connection.read(get)
        connection.read("BLAH / HTTP/1.1\r\n\r\n", at: 200)
        connection.tick(at: 2_500)
        connection.reply(to: 0, body: "slow")
        XCTAssertEqual(connection.writtenResponses.map { String($0.prefix(12)) }, ["HTTP/1.1 200", "HTTP/1.1 400"])
    }

    func testLingeringCloseEndsWhenTheClientClosesOrAtTheLingerTimeout() {
        let clientCloses = ConnectionMachineDriver()
        clientCloses.read("GET /a HTTP/1.0\r\n\r\n")
        clientCloses.reply(to: 0, body: "bye")
        clientCloses.read(get, at: 100)
        XCTAssertEqual(clientCloses.dispatched.count, 1, "a lingering connection served a request")
        XCTAssertFalse(clientCloses.isClosed)
        clientCloses.peerCloses(at: 200)
        XCTAssertTrue(clientCloses.isClosed)

        let clientStays = ConnectionMachineDriver()
        clientStays.read("GET /a HTTP/1.0\r\n\r\n", at: 1_000)
        clientStays.reply(to: 0, body: "bye")
        clientStays.tick(at: 2_999)
        XCTAssertFalse(clientStays.isClosed)
        clientStays.tick(at: 3_000)
        XCTAssertTrue(clientStays.isClosed)
    }

    // MARK: Refusals and reserved places

    func testReservedPlaceRefusesAnOrdinaryPathWith503AndGivesThePlaceBack() {
        let connection = ConnectionMachineDriver(reservedOnly: true)
        connection.read(get)
        XCTAssertTrue(connection.dispatched.isEmpty)
        XCTAssertTrue(connection.isPlaceReleased)
        XCTAssertTrue(connection.writtenText.hasPrefix("HTTP/1.1 503 "), connection.writtenText)
        XCTAssertTrue(connection.writtenText.contains("too many connections"))
        XCTAssertTrue(connection.isFINSent)
        XCTAssertFalse(connection.isClosed, "a refused client lingers over its 503 instead of getting a reset")
    }

    func testReservedPlaceServesReservedPaths() {
        let connection = ConnectionMachineDriver(reservedOnly: true)
        connection.read("GET /metrics HTTP/1.1\r\n\r\n", at: 1_900)
        connection.reply(to: 0, body: "metrics")
        connection.tick(at: 2_500)
        connection.read("GET /internal/x HTTP/1.1\r\n\r\n", at: 2_600)
        XCTAssertEqual(connection.dispatched.map(\.request.path), ["/metrics", "/internal/x"])
        XCTAssertFalse(connection.isPlaceReleased)
    }

    func testReservedPlaceIsRefusedWhenItsFirstRequestDoesNotStartWithinTheLimit() {
        let connection = ConnectionMachineDriver(reservedOnly: true)
        connection.tick(at: 1_999)
        XCTAssertFalse(connection.isPlaceReleased)
        connection.tick(at: 2_000)
        XCTAssertTrue(connection.isPlaceReleased)
        XCTAssertTrue(connection.writtenText.hasPrefix("HTTP/1.1 503 "), connection.writtenText)
        XCTAssertTrue(connection.isFINSent)
    }

    func testReservedPlaceIsRefusedAsSoonAsTheHeadNamesAnOrdinaryPath() {
        let connection = ConnectionMachineDriver(reservedOnly: true)
        connection.read("POST /v1/data HTTP/1.1\r\nContent-Length: 1000\r\n\r\nab")
        XCTAssertTrue(connection.isPlaceReleased, "the place was held while the body trickles in")
        XCTAssertTrue(connection.writtenText.hasPrefix("HTTP/1.1 503 "), connection.writtenText)
    }

    func testRefusedConnectionAnswers503ThenLingersInsteadOfResetting() {
        let connection = ConnectionMachineDriver(start: false)
        connection.refuse(HTTPResponse.error(.serviceUnavailable, "full"))
        XCTAssertTrue(connection.writtenText.hasPrefix("HTTP/1.1 503 "), connection.writtenText)
        XCTAssertTrue(connection.writtenText.contains("Connection: close\r\n"))
        XCTAssertTrue(connection.isFINSent)
        XCTAssertTrue(connection.isReading, "the client's request must be read, or closing resets the connection")
        connection.read(get)
        XCTAssertTrue(connection.dispatched.isEmpty)
        XCTAssertFalse(connection.isClosed)
        connection.peerCloses()
        XCTAssertTrue(connection.isClosed)
    }

    // MARK: Shutdown and the access log

    func testShutdownClosesAnIdleConnectionAtOnce() {
        let connection = ConnectionMachineDriver()
        connection.read(get)
        connection.reply(to: 0, body: "done")
        connection.shutdown()
        XCTAssertTrue(connection.isClosed)
    }

    func testShutdownLetsAHalfReadRequestFinishButTakesNoMore() {
        let connection = ConnectionMachineDriver()
        connection.read("GET /a HTTP/1.1\r\n")
        connection.shutdown()
        XCTAssertFalse(connection.isClosed)
        XCTAssertFalse(connection.isReading)
    }

    func testEveryResponseIsLoggedWithItsDuration() {
        let connection = ConnectionMachineDriver()
        connection.microseconds = 1_000
        connection.read("GET /a?q=1 HTTP/1.1\r\n\r\nBLAH / HTTP/1.1\r\n\r\n")
        connection.microseconds = 1_750
        connection.reply(to: 0, body: "abc")
        let entries = connection.accessLog.map { "\($0.method) \($0.path) \($0.status) \($0.durationMicroseconds) \($0.peer)" }
        XCTAssertEqual(entries, ["GET /a 200 750 test-peer", "- - 400 750 test-peer"])
        XCTAssertEqual(connection.accessLog.first?.bodyBytes, 3)
    }
}
