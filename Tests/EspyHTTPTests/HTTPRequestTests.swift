import EspyHTTP
import XCTest

final class HTTPRequestTests: XCTestCase {
    private func parameters(_ target: String) -> [String] {
        HTTPRequest(method: .get, target: target).queryParameters.map { "\($0.name)=\($0.value)" }
    }

    func testPathExcludesTheQuery() {
        XCTAssertEqual(HTTPRequest(method: .get, target: "/v1/count?limit=1").path, "/v1/count")
        XCTAssertEqual(HTTPRequest(method: .get, target: "/v1/count").path, "/v1/count")
        XCTAssertEqual(HTTPRequest(method: .get, target: "/v1/count?").path, "/v1/count")
    }

    func testParametersInOrder() {
        XCTAssertEqual(parameters("/x?group_by=uname$system&limit=10&since=2026-01-01"),
                       ["group_by=uname$system", "limit=10", "since=2026-01-01"])
    }

    func testPlusIsASpace() {
        XCTAssertEqual(parameters("/x?q=a+b+c&a+b=1"), ["q=a b c", "a b=1"])
    }

    func testPercentEscapesAreDecoded() {
        XCTAssertEqual(parameters("/x?group_by=python%24version_info%240&p=%2B%26%3D%25&u=caf%C3%A9&l=%2f"),
                       ["group_by=python$version_info$0", "p=+&=%", "u=café", "l=/"])
    }

    func testMalformedPercentEscapesAreKeptLiterally() {
        XCTAssertEqual(parameters("/x?a=%zz&b=%4&c=100%"), ["a=%zz", "b=%4", "c=100%"])
    }

    func testMissingValueIsEmpty() {
        let query = HTTPRequest(method: .get, target: "/x?flag&a=&=v").queryParameters
        XCTAssertEqual(query.map(\.name), ["flag", "a", ""])
        XCTAssertEqual(query.map(\.value), ["", "", "v"])
    }

    func testValueMayContainEqualsSigns() {
        XCTAssertEqual(parameters("/x?a=b=c"), ["a=b=c"])
        XCTAssertEqual(HTTPRequest(method: .get, target: "/x?a=b=c").queryParameter("a"), "b=c")
    }

    func testEmptyPairsAreSkipped() {
        XCTAssertEqual(parameters("/x?a=1&&b=2&"), ["a=1", "b=2"])
    }

    func testNoQueryMeansNoParameters() {
        XCTAssertEqual(parameters("/x"), [])
        XCTAssertEqual(parameters("/x?"), [])
    }

    func testQueryParameterFindsTheFirstOccurrence() {
        let request = HTTPRequest(method: .get, target: "/x?limit=1&limit=2")
        XCTAssertEqual(request.queryParameter("limit"), "1")
        XCTAssertNil(request.queryParameter("since"))
    }

    func testParsedRequestQueryDecodesTheSameWay() throws {
        let parser = HTTPRequestParser()
        let text = "GET /v1/count?group_by=uname%24system&since=2026-01-01T00%3A00%3A00%2B02%3A00 HTTP/1.1\r\n\r\n"
        let events = Array(text.utf8).withUnsafeBytes { parser.feed($0) }.events
        guard case .request(let request)? = events.first else { return XCTFail("no request") }
        XCTAssertEqual(request.queryParameter("group_by"), "uname$system")
        XCTAssertEqual(request.queryParameter("since"), "2026-01-01T00:00:00+02:00")
    }
}
