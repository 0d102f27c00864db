import EspyAPI
import EspyHTTP
import XCTest

/// Signatures of node-to-node requests: what a change to any signed part, the clock or the key
/// does to them, and the replay guard's memory.
final class InternalRequestSignerTests: XCTestCase {
    private let keyA = "rDJ6y4MDiU5ZcnWr3FjD1gY2JDnQ3C2HykOJmNJa2+0="
    private let keyB = "8uT0Pt3rVNq8R2T1m9mD3dWbb1h2b9bR2c1HdG8yXcA="
    private let body = Array("{\"server_time\":\"2026-12-02T10:00:00Z\",\"a\":1}\n".utf8)
    private let now: Int64 = 1_796_200_000_000

    private func check(_ signer: InternalRequestSigner, _ value: String?, method: HTTPMethod = .post,
                       target: String = "/internal/v1/records", body: [UInt8]? = nil, at time: Int64? = nil) -> String? {
        switch signer.check(value, method: method, target: target, body: body ?? self.body, nowMilliseconds: time ?? now) {
        case .success: return nil
        case .failure(let refusal): return refusal.description
        }
    }

    func testASignatureChecksOnlyForTheRequestItWasMadeFor() throws {
        let signer = try InternalRequestSigner(base64Keys: [keyA])
        let value = signer.signature(method: .post, target: "/internal/v1/records", body: body, nowMilliseconds: now)
        XCTAssertNil(check(signer, value))
        XCTAssertNil(check(signer, value, at: now + InternalRequestSigner.windowMilliseconds), "the window's edge is inside")
        XCTAssertEqual(check(signer, value, method: .get), "the signature does not match any cluster key of this node")
        XCTAssertNotNil(check(signer, value, target: "/internal/v1/records?x=1"))
        XCTAssertNotNil(check(signer, value, body: body + [0x0A]))
        XCTAssertTrue(check(signer, value, at: now + InternalRequestSigner.windowMilliseconds + 1)?.contains("from this node's clock") ?? false)
        XCTAssertTrue(check(signer, value, at: now - InternalRequestSigner.windowMilliseconds - 1)?.contains("from this node's clock") ?? false)
        XCTAssertTrue(check(signer, nil)?.contains("no X-Espy-Signature header") ?? false)
        for malformed in ["", "v1", "v2 1 00 00", value + " extra", value.replacingOccurrences(of: "v1 ", with: "v1  ")] {
            XCTAssertTrue(check(signer, malformed)?.contains("is not 'v1") ?? false, malformed)
        }
    }

    func testEveryKeyOfTheRingVerifies_onlyTheFirstSigns_andAForeignKeyIsRefused() throws {
        let old = try InternalRequestSigner(base64Keys: [keyA])
        let adding = try InternalRequestSigner(base64Keys: [keyA, keyB])
        let promoted = try InternalRequestSigner(base64Keys: [keyB, keyA])
        let new = try InternalRequestSigner(base64Keys: [keyB])
        func signed(by signer: InternalRequestSigner) -> String {
            signer.signature(method: .post, target: "/internal/v1/count", body: body, nowMilliseconds: now)
        }
        // Each step of a rotation understands its neighbours, so nodes can move one at a time.
        for (sender, receiver) in [(old, adding), (adding, old), (adding, promoted), (promoted, adding), (promoted, new), (new, promoted)] {
            XCTAssertNil(check(receiver, signed(by: sender), target: "/internal/v1/count"))
        }
        XCTAssertNotNil(check(old, signed(by: new), target: "/internal/v1/count"))
        XCTAssertNotNil(check(new, signed(by: old), target: "/internal/v1/count"))
    }

    func testKeysThatAreNotThirtyTwoBytesOfBase64AreRefused() {
        for keys in [[], ["not base64!"], ["AAAA"], [keyA, "c2hvcnQ="]] {
            XCTAssertThrowsError(try InternalRequestSigner(base64Keys: keys), "\(keys)")
        }
    }

    func testTheReplayGuardAdmitsANonceOnce_andForgetsItOnlyAfterItsSignatureExpired() {
        var guardian = ReplayGuard(windowMilliseconds: 1_000)
        XCTAssertTrue(guardian.admit(nonce: "a", signedAt: 10_000, nowMilliseconds: 10_000))
        XCTAssertFalse(guardian.admit(nonce: "a", signedAt: 10_000, nowMilliseconds: 10_500))
        XCTAssertFalse(guardian.admit(nonce: "a", signedAt: 10_000, nowMilliseconds: 11_000), "still acceptable by time, so still refused")
        // Signed ahead of this clock: acceptable until a window after its own time.
        XCTAssertTrue(guardian.admit(nonce: "ahead", signedAt: 11_900, nowMilliseconds: 11_000))
        XCTAssertTrue(guardian.admit(nonce: "b", signedAt: 11_000, nowMilliseconds: 11_001))
        XCTAssertEqual(guardian.remembered, 2, "'a' aged out")
        XCTAssertFalse(guardian.admit(nonce: "ahead", signedAt: 11_900, nowMilliseconds: 12_800))
        XCTAssertTrue(guardian.admit(nonce: "c", signedAt: 14_000, nowMilliseconds: 14_000))
        XCTAssertEqual(guardian.remembered, 1)
    }

    func testTheReplayGuardsMemoryStaysBoundedByTheWindow() {
        var guardian = ReplayGuard(windowMilliseconds: 100)
        for index in 0..<20_000 {
            let time = Int64(index)
            XCTAssertTrue(guardian.admit(nonce: "n\(index)", signedAt: time, nowMilliseconds: time))
        }
        XCTAssertLessThanOrEqual(guardian.remembered, 102)
    }
}
