import EspyAPI
import EspyHTTP
import XCTest

/// The operator rule on requests as the server hands them over: peer address and headers.
final class OperatorAccessTests: XCTestCase {
    private func request(from host: String?, authorization: String? = nil) -> HTTPRequest {
        var headers = HTTPHeaders()
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        var request = HTTPRequest(method: .post, target: "/v1/cluster/leave", headers: headers)
        request.peerHost = host
        return request
    }

    func testWithoutTokens_onlyTheNodesOwnHostMayAct() {
        let access = OperatorAccess(tokens: [])
        for host in ["127.0.0.1", "127.0.0.16", "::1", "::ffff:127.0.0.1"] {
            XCTAssertNil(access.refusal(of: request(from: host), action: "leave"), host)
        }
        for host in ["10.1.0.11", "192.168.0.2", "::ffff:10.0.0.1", "fe80::1"] {
            let refusal = access.refusal(of: request(from: host), action: "leave")
            XCTAssertEqual(refusal?.status.code, 403, host)
        }
        XCTAssertEqual(access.refusal(of: request(from: nil), action: "leave")?.status.code, 403, "an unknown peer is no one's own host")
    }

    func testWithTokens_aBearerTokenOfTheListIsNeeded_fromAnyHost() {
        let access = OperatorAccess(tokens: ["first-token-0000000", "second-token-000000"])
        XCTAssertNil(access.refusal(of: request(from: "10.1.0.11", authorization: "Bearer second-token-000000"), action: "leave"))
        for authorization in [nil, "Bearer first-token-000000", "Bearer first-token-00000000", "bearer first-token-0000000",
                              "Basic first-token-0000000", "Bearer "] {
            let refusal = access.refusal(of: request(from: "127.0.0.1", authorization: authorization), action: "leave")
            XCTAssertEqual(refusal?.status.code, 401, authorization ?? "no header")
        }
    }
}
