import EspyHTTP
import XCTest

final class HTTPResponseEncoderTests: XCTestCase {
    private func head(_ status: HTTPStatus, _ headers: [(name: String, value: String)], contentLength: Int?,
                      keepAlive: Bool, date: String?) -> String {
        var out: [UInt8] = []
        HTTPResponseEncoder.appendHead(status: status, headers: headers, contentLength: contentLength,
                                       keepAlive: keepAlive, date: date, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func testHeadWithContentLength() {
        XCTAssertEqual(head(.ok, [("Content-Type", "application/json")], contentLength: 17, keepAlive: true,
                            date: "Sun, 06 Nov 1994 08:49:37 GMT"),
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
                       + "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n")
    }

    func testHeadForChunkedBodyHasNoContentLength() {
        let text = head(.ok, [("Content-Type", "application/x-ndjson")], contentLength: nil, keepAlive: true, date: nil)
        XCTAssertEqual(text, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertFalse(text.contains("Content-Length"))
    }

    func testZeroContentLengthIsStillSent() {
        XCTAssertEqual(head(.notFound, [], contentLength: 0, keepAlive: true, date: nil),
                       "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    }

    func testClosingConnectionSaysSo() {
        XCTAssertEqual(head(.payloadTooLarge, [], contentLength: 5, keepAlive: false, date: nil),
                       "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
        XCTAssertFalse(head(.ok, [], contentLength: 5, keepAlive: true, date: nil).contains("Connection"))
    }

    func testHeadersKeepTheirOrderAndSpelling() {
        XCTAssertEqual(head(.methodNotAllowed, [("Allow", "GET, HEAD"), ("X-Thing", "1")], contentLength: 2, keepAlive: true, date: nil),
                       "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nX-Thing: 1\r\nContent-Length: 2\r\n\r\n")
    }

    func testChunkFramingUsesHexSizes() {
        var out: [UInt8] = []
        HTTPResponseEncoder.appendChunk(Array("hello".utf8), to: &out)
        HTTPResponseEncoder.appendChunk([], to: &out)
        HTTPResponseEncoder.appendChunk(Array(repeating: UInt8(ascii: "z"), count: 26), to: &out)
        out += HTTPResponseEncoder.lastChunk
        XCTAssertEqual(String(decoding: out, as: UTF8.self),
                       "5\r\nhello\r\n1a\r\n\(String(repeating: "z", count: 26))\r\n0\r\n\r\n")
    }

    func testContinueResponse() {
        XCTAssertEqual(String(decoding: HTTPResponseEncoder.continueResponse, as: UTF8.self), "HTTP/1.1 100 Continue\r\n\r\n")
    }

    func testHTTPDateForKnownInstants() {
        XCTAssertEqual(HTTPResponseEncoder.httpDate(unixSeconds: 784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT")
        XCTAssertEqual(HTTPResponseEncoder.httpDate(unixSeconds: 0), "Thu, 01 Jan 1970 00:00:00 GMT")
        XCTAssertEqual(HTTPResponseEncoder.httpDate(unixSeconds: 951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT")
        XCTAssertEqual(HTTPResponseEncoder.httpDate(unixSeconds: 1_795_945_910), "Sun, 29 Nov 2026 09:51:50 GMT")
    }

    func testHTTPDateBeforeTheEpoch() {
        XCTAssertEqual(HTTPResponseEncoder.httpDate(unixSeconds: -1), "Wed, 31 Dec 1969 23:59:59 GMT")
        XCTAssertEqual(HTTPResponseEncoder.httpDate(unixSeconds: -86_400), "Wed, 31 Dec 1969 00:00:00 GMT")
        XCTAssertEqual(HTTPResponseEncoder.httpDate(unixSeconds: -86_401), "Tue, 30 Dec 1969 23:59:59 GMT")
    }
}
