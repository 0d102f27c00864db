import EspyLoop
import EspyTestKit
import Foundation
import XCTest

final class LoopHandleTests: XCTestCase {
    func testClosingATimerTwiceRunsBothCompletionsOnceAndReleasesTheHandleOnce() throws {
        let loopThread = try startedLoopThread()
        defer { stopLoop(loopThread) }
        let baseline = try loopThread.sync { loopThread.loop.handleCount }
        let completions = Box<[String]>([])
        let countWhileOpen = try loopThread.sync { () throws -> Int in
            let timer = EspyLoop.Timer(loop: loopThread.loop)
            timer.start(after: 10_000) {}
            let count = loopThread.loop.handleCount
            timer.close { completions.value.append("first") }
            XCTAssertTrue(timer.isClosing)
            timer.close { completions.value.append("second") }
            timer.close()
            return count
        }
        XCTAssertEqual(countWhileOpen, baseline + 1)
        XCTAssertTrue(try waitUntil(timeout: 5) { try loopThread.sync { completions.value.count } >= 2 })
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(try loopThread.sync { completions.value }, ["first", "second"])
        XCTAssertEqual(try loopThread.sync { loopThread.loop.handleCount }, baseline, "handle count off after a double close")
    }

    func testClosingListenerAndSocketsTwiceIsHarmless() throws {
        let loopThread = try startedLoopThread()
        defer { stopLoop(loopThread) }
        let baseline = try loopThread.sync { loopThread.loop.handleCount }
        let closed = Box(0)
        try loopThread.sync {
            let any = try SocketAddress(host: "127.0.0.1", port: 0)
            let listener = try TCPListener(loop: loopThread.loop, address: any) { $0.close() }
            let udp = try UDPSocket(loop: loopThread.loop, address: any)
            let queue = try LoopTaskQueue(loop: loopThread.loop)
            let handles: [LoopHandle] = [listener, udp, queue]
            for handle in handles {
                handle.close { closed.value += 1 }
                handle.close { closed.value += 1 }
            }
        }
        XCTAssertTrue(try waitUntil(timeout: 5) { try loopThread.sync { closed.value } >= 6 })
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(try loopThread.sync { closed.value }, 6)
        XCTAssertEqual(try loopThread.sync { loopThread.loop.handleCount }, baseline)
    }

    func testHandleCountTracksOpenHandles() throws {
        let loop = try EventLoop()
        XCTAssertEqual(loop.handleCount, 0)
        let first = EspyLoop.Timer(loop: loop)
        let second = EspyLoop.Timer(loop: loop)
        XCTAssertEqual(loop.handleCount, 2)
        first.close()
        second.close()
        XCTAssertTrue(loop.close(), "loop did not close once its handles were closed")
    }

    /// `close` is documented as idempotent, with `completion` running once libuv has let go of
    /// the handle. A second close that comes after the first one finished never runs its
    /// completion, so a caller waiting on it waits forever.
    func testCloseCalledAfterTheHandleFinishedClosingNeverRunsItsCompletion() throws {
        let loopThread = try startedLoopThread()
        defer { stopLoop(loopThread) }
        let timer = try loopThread.sync { EspyLoop.Timer(loop: loopThread.loop) }
        let firstClosed = loopThread.await(timeout: 5) { (done: @escaping (Bool) -> Void) in
            timer.close { done(true) }
        }
        XCTAssertEqual(firstClosed, true)
        let secondClosed = loopThread.await(timeout: 3) { (done: @escaping (Bool) -> Void) in
            timer.close { done(true) }
        }
        XCTAssertEqual(secondClosed, true, "completion of a close on an already closed handle never ran")
    }
}
