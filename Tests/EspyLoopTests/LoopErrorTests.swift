import EspyLoop
import EspyTestKit
import Foundation
import XCTest

final class LoopErrorTests: XCTestCase {
    func testBindingATCPListenerToABoundPortFailsWithEADDRINUSE() throws {
        let loopThread = try startedLoopThread()
        let first = try loopThread.sync {
            try TCPListener(loop: loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: 0)) { $0.close() }
        }
        let second = Box<TCPListener?>(nil)
        defer { stopLoop(loopThread) { first.close(); second.value?.close() } }
        let port = try loopThread.sync { first.localAddress.port }
        let baseline = try loopThread.sync { loopThread.loop.handleCount }

        XCTAssertThrowsError(try loopThread.sync {
            second.value = try TCPListener(loop: loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: port)) { $0.close() }
        }) { error in
            guard let loopError = error as? LoopError else { return XCTFail("not a LoopError: \(error)") }
            XCTAssertEqual(loopError.name, "EADDRINUSE")
            XCTAssertEqual(loopError.code, -EADDRINUSE)
            XCTAssertTrue(loopError.description.contains("EADDRINUSE"), loopError.description)
            XCTAssertTrue(loopError.description.contains("\(port)"), "description does not name the address: \(loopError.description)")
        }
        // The failed listener closes its own handle.
        XCTAssertTrue(try waitUntil(timeout: 5) { try loopThread.sync { loopThread.loop.handleCount } == baseline },
                      "a listener that failed to bind left its handle open")
    }

    func testNameAndDescriptionComeFromLibuv() {
        let error = LoopError(code: -ECONNRESET, operation: "read")
        XCTAssertEqual(error.name, "ECONNRESET")
        XCTAssertTrue(error.description.hasPrefix("read: ECONNRESET ("), error.description)
        XCTAssertEqual(LoopError(code: LoopError.endOfFile, operation: "read").name, "EOF")
    }
}
