import EspyLoop
import EspyTestKit
import Foundation
import XCTest

final class TimerTests: XCTestCase {
    func testTimerFiresOnceAfterItsDelayOnTheLoopThread() throws {
        let loopThread = try startedLoopThread()
        let loopPthread = try loopThread.sync { pthread_self() }
        let startedAt = Box<DispatchTime?>(nil)
        let fires = Locked<[(DispatchTime, Bool)]>([])
        let fired = DispatchSemaphore(value: 0)
        let timer = try loopThread.sync { () throws -> EspyLoop.Timer in
            let timer = EspyLoop.Timer(loop: loopThread.loop)
            startedAt.value = .now()
            timer.start(after: 200) {
                fires.mutate { $0.append((.now(), isCurrentThread(loopPthread))) }
                fired.signal()
            }
            return timer
        }
        defer { stopLoop(loopThread) { timer.close() } }

        XCTAssertEqual(fired.wait(timeout: .now() + 5), .success, "timer never fired")
        XCTAssertEqual(fired.wait(timeout: .now() + 0.5), .timedOut, "a timer without repeat fired again")
        let recorded = fires.value
        XCTAssertEqual(recorded.count, 1)
        guard let first = recorded.first, let start = try loopThread.sync({ startedAt.value }) else { return }
        let elapsed = seconds(from: start, to: first.0)
        XCTAssertGreaterThanOrEqual(elapsed, 0.185, "fired before its 200 ms delay")
        XCTAssertLessThan(elapsed, 2.0, "fired far too late")
        XCTAssertTrue(first.1, "the callback ran off the loop thread")
    }

    func testRepeatingTimerFiresAtItsIntervalUntilStopped() throws {
        let loopThread = try startedLoopThread()
        let fireTimes = Locked<[DispatchTime]>([])
        let timer = try loopThread.sync { () throws -> EspyLoop.Timer in
            let timer = EspyLoop.Timer(loop: loopThread.loop)
            timer.start(after: 50, repeat: 100) { fireTimes.mutate { $0.append(.now()) } }
            return timer
        }
        defer { stopLoop(loopThread) { timer.close() } }

        XCTAssertTrue(waitUntil(timeout: 5) { fireTimes.value.count >= 4 }, "repeat timer fired \(fireTimes.value.count) times")
        try loopThread.sync { timer.stop() }
        let countAtStop = fireTimes.value.count
        Thread.sleep(forTimeInterval: 0.4)
        XCTAssertEqual(fireTimes.value.count, countAtStop, "timer kept firing after stop()")

        let times = fireTimes.value
        for (earlier, later) in zip(times, times.dropFirst()) {
            XCTAssertGreaterThanOrEqual(seconds(from: earlier, to: later), 0.085, "repeat interval shorter than 100 ms")
        }
    }

    func testStoppedTimerNeverFires() throws {
        let loopThread = try startedLoopThread()
        let fireCount = Locked(0)
        let timer = try loopThread.sync { () throws -> EspyLoop.Timer in
            let timer = EspyLoop.Timer(loop: loopThread.loop)
            timer.start(after: 100) { fireCount.mutate { $0 += 1 } }
            timer.stop()
            return timer
        }
        defer { stopLoop(loopThread) { timer.close() } }
        Thread.sleep(forTimeInterval: 0.4)
        XCTAssertEqual(fireCount.value, 0)
    }

    func testRestartingATimerReplacesItsScheduleAndCallback() throws {
        let loopThread = try startedLoopThread()
        let calls = Locked<[String]>([])
        let timer = try loopThread.sync { () throws -> EspyLoop.Timer in
            let timer = EspyLoop.Timer(loop: loopThread.loop)
            timer.start(after: 5_000) { calls.mutate { $0.append("old") } }
            timer.start(after: 50) { calls.mutate { $0.append("new") } }
            return timer
        }
        defer { stopLoop(loopThread) { timer.close() } }
        XCTAssertTrue(waitUntil(timeout: 2) { !calls.value.isEmpty }, "restarted timer did not fire at its new delay")
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(calls.value, ["new"])
    }

    func testUnreferencedTimerDoesNotKeepTheLoopRunning() throws {
        // Without a thread: run() must return although an unreferenced timer is still armed.
        let loop = try EventLoop()
        let timer = EspyLoop.Timer(loop: loop)
        timer.unreference()
        var fired = false
        timer.start(after: 60_000) { fired = true }
        let started = DispatchTime.now()
        loop.run()
        XCTAssertLessThan(seconds(from: started, to: .now()), 5, "run() waited for an unreferenced timer")
        XCTAssertFalse(fired)
        timer.close()
        XCTAssertTrue(loop.close(), "loop did not close after its only handle was closed")
    }

    func testTimerDrivenByRunOnceWithoutAThread() throws {
        let loop = try EventLoop()
        let timer = EspyLoop.Timer(loop: loop)
        var fired = 0
        timer.start(after: 10) { fired += 1 }
        let deadline = Date().addingTimeInterval(5)
        while fired == 0 && Date() < deadline { loop.runOnce() }
        XCTAssertEqual(fired, 1)
        XCTAssertFalse(loop.close(), "loop.close() succeeded while a timer handle was still open")
        timer.close()
        XCTAssertTrue(loop.close())
    }
}
