import EspyHTTP
import XCTest

final class RouterTests: XCTestCase {
    private var router: Router<String> = {
        var router = Router<String>()
        router.add(.get, "/v1/count", "count")
        router.add(.post, "/v1/records", "ingest")
        router.add(.get, "/v1/records", "export")
        router.add(.post, "/v1/admin", "admin")
        return router
    }()

    private func handler(_ method: HTTPMethod, _ path: String) -> String? {
        if case .handler(let name) = router.match(method, path: path) { return name }
        return nil
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
