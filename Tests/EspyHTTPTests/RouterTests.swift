import EspyHTTP
import XCTest

final class RouterTests: XCTestCase {
    private var router: Router = {
        var router = Router()
        for (method, path, name) in [(HTTPMethod.get, "/v1/count", "count"), (.post, "/v1/records", "ingest"),
                                     (.get, "/v1/records", "export"), (.post, "/v1/admin", "admin")] {
            router.add(method, path) { _, reply in reply(.init(body: .bytes(Array(name.utf8)))) }
        }
        return router
    }()

    /// The name the matched endpoint answers with.
    private func handler(_ method: HTTPMethod, _ path: String) -> String? {
        guard case .endpoint(let endpoint) = router.match(method, path: path) else { return nil }
        var name: String?
        endpoint(HTTPRequest(method: method, target: path)) { response in
            if case .bytes(let bytes) = response.body { name = String(decoding: bytes, as: UTF8.self) }
        }
        return name
    }

    private func allowed(_ method: HTTPMethod, _ path: String) -> [HTTPMethod]? {
        if case .methodNotAllowed(let allowed) = router.match(method, path: path) { return allowed }
        return nil
    }

    private func isNotFound(_ method: HTTPMethod, _ path: String) -> Bool {
        if case .notFound = router.match(method, path: path) { return true }
        return false
    }

    func testMatchesMethodAndPath() {
        XCTAssertEqual(handler(.get, "/v1/count"), "count")
        XCTAssertEqual(handler(.post, "/v1/records"), "ingest")
        XCTAssertEqual(handler(.get, "/v1/records"), "export")
    }

    func testHeadIsServedByTheGetHandler() {
        XCTAssertEqual(handler(.head, "/v1/count"), "count")
        XCTAssertEqual(handler(.head, "/v1/records"), "export")
    }

    func testUnknownPathIsNotFound() {
        XCTAssertTrue(isNotFound(.get, "/v1/nope"))
        XCTAssertTrue(isNotFound(.get, "/v1/count/"))
        XCTAssertTrue(isNotFound(.get, "/V1/COUNT"))
        XCTAssertTrue(isNotFound(.post, ""))
    }

    func testWrongMethodListsTheAllowedOnesWithHeadWhereGetIs() {
        XCTAssertEqual(allowed(.post, "/v1/count"), [.get, .head])
        XCTAssertEqual(allowed(.delete, "/v1/records"), [.post, .get, .head])
        XCTAssertEqual(allowed(.other("BREW"), "/v1/count"), [.get, .head])
    }

    func testHeadIsNotAllowedWhereGetIsNot() {
        XCTAssertEqual(allowed(.head, "/v1/admin"), [.post])
        XCTAssertEqual(allowed(.get, "/v1/admin"), [.post])
    }
}
