import EspyHTTP
import Foundation
import XCTest

final class HTTPResponseTests: XCTestCase {
    private func bytes(_ response: HTTPResponse) -> [UInt8] {
        if case .bytes(let bytes) = response.body { return bytes }
        XCTFail("expected a byte body")
        return []
    }

    func testErrorIsAJSONObjectWithTheEscapedMessage() throws {
        let response = HTTPResponse.error(.badRequest, "bad \"limit\"\n\tline\u{01}")
        XCTAssertEqual(response.status, .badRequest)
        XCTAssertEqual(response.headers.map(\.name), ["Content-Type"])
        XCTAssertEqual(response.headers.first?.value, "application/json")
        let body = bytes(response)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), #"{"error":"bad \"limit\"\n\tline\u0001"}"# + "\n")
        let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: String]
        XCTAssertEqual(object, ["error": "bad \"limit\"\n\tline\u{01}"])
    }

    func testErrorKeepsExtraHeadersAfterTheContentType() {
        let response = HTTPResponse.error(.methodNotAllowed, "no", headers: [("Allow", "GET, HEAD")])
        XCTAssertEqual(response.headers.map(\.name), ["Content-Type", "Allow"])
        XCTAssertEqual(response.status.code, 405)
    }

    func testJSONResponseCarriesTheBody() {
        let response = HTTPResponse.json(.ok, Array(#"{"a":1}"#.utf8))
        XCTAssertEqual(bytes(response), Array(#"{"a":1}"#.utf8))
        XCTAssertEqual(response.status.code, 200)
    }
}
