import EspyAPI
import EspyHTTP
import XCTest

/// Who may call `/internal/v1/*` when the cluster runs without a key.
final class InternalAccessTests: XCTestCase {
    private func request(from host: String?) -> HTTPRequest {
        var request = HTTPRequest(method: .post, target: "/internal/v1/records")
        request.peerHost = host
        return request
    }

    func testWithoutAKey_membersAndThisHostAreServed_anyoneElseIsForbidden() {
        var access = InternalAccess(policy: .membersOnly(isMemberHost: { $0 == "10.1.0.11" || $0 == "10.2.0.11" }))
        for host in ["10.1.0.11", "10.2.0.11", "127.0.0.1", "127.0.0.14", "::1"] {
            XCTAssertNil(access.refusal(of: request(from: host)), host)
        }
        for host in ["10.1.0.12", "192.168.1.5", nil] as [String?] {
            let refusal = access.refusal(of: request(from: host))
            XCTAssertEqual(refusal?.status.code, 403, host ?? "unknown peer")
            XCTAssertTrue(refusal?.reason.contains("cluster members only") ?? false)
        }
    }
}
