import EspyLoop
import XCTest

final class SocketAddressTests: XCTestCase {
    func testParsesIPv4HostAndPort() throws {
        let address = try SocketAddress(parsing: "127.0.0.1:80")
        XCTAssertEqual(address.host, "127.0.0.1")
        XCTAssertEqual(address.port, 80)
        XCTAssertFalse(address.isIPv6)
        XCTAssertEqual(address.description, "127.0.0.1:80")
    }

    func testParsesBracketedIPv6HostAndPort() throws {
        let address = try SocketAddress(parsing: "[::1]:80")
        XCTAssertEqual(address.host, "::1")
        XCTAssertEqual(address.port, 80)
        XCTAssertTrue(address.isIPv6)
        XCTAssertEqual(address.description, "[::1]:80")
    }

    func testParsesPortBounds() throws {
        XCTAssertEqual(try SocketAddress(parsing: "0.0.0.0:0").port, 0)
        XCTAssertEqual(try SocketAddress(parsing: "10.1.2.3:65535").port, 65535)
        XCTAssertEqual(try SocketAddress(parsing: "[2001:db8::7]:8080").host, "2001:db8::7")
    }

    func testRejectsHostNamesBecauseItNeverResolvesDNS() {
        assertRejected("localhost:80")
        assertRejected("example.com:443")
    }

    func testRejectsAddressWithoutPort() {
        assertRejected("1.2.3.4")
        assertRejected("1.2.3.4:")
        assertRejected("[::1]")
    }

    func testRejectsPortOutOfRange() {
        assertRejected("1.2.3.4:70000")
        assertRejected("1.2.3.4:65536")
        assertRejected("1.2.3.4:-1")
        XCTAssertThrowsError(try SocketAddress(host: "1.2.3.4", port: 70000))
        XCTAssertThrowsError(try SocketAddress(host: "1.2.3.4", port: -1))
    }

    func testRejectsMalformedHostsAndPorts() {
        assertRejected(":80")
        assertRejected("[]:80")
        assertRejected("1.2.3:80")
        assertRejected("256.1.1.1:80")
        assertRejected("1.2.3.4:http")
        assertRejected("")
    }

    func testRejectionIsReportedAsEINVALNamingTheInput() {
        XCTAssertThrowsError(try SocketAddress(parsing: "localhost:80")) { error in
            let loopError = error as? LoopError
            XCTAssertEqual(loopError?.name, "EINVAL")
            XCTAssertTrue(loopError?.description.contains("localhost") ?? false, "\(error)")
        }
    }

    func testAddressesCompareByHostAndPort() throws {
        XCTAssertEqual(try SocketAddress(parsing: "127.0.0.1:80"), try SocketAddress(host: "127.0.0.1", port: 80))
        XCTAssertNotEqual(try SocketAddress(parsing: "127.0.0.1:80"), try SocketAddress(parsing: "127.0.0.1:81"))
        XCTAssertNotEqual(try SocketAddress(parsing: "127.0.0.1:80"), try SocketAddress(parsing: "127.0.0.2:80"))
        let set: Set<SocketAddress> = [try SocketAddress(parsing: "[::1]:80"), try SocketAddress(host: "::1", port: 80)]
        XCTAssertEqual(set.count, 1)
    }

    private func assertRejected(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SocketAddress(parsing: text), "'\(text)' was accepted", file: file, line: line) { error in
            XCTAssertTrue(error is LoopError, "\(error)", file: file, line: line)
        }
    }
}
