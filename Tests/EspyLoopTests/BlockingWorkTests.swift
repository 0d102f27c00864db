import EspyLoop
import EspyTestKit
import Foundation
import XCTest

final class BlockingWorkTests: XCTestCase {
    func testRunBlockingRunsWorkOffTheLoopThreadAndCompletesOnIt() throws {
        let loopThread = try startedLoopThread()
        defer { stopLoop(loopThread) }
        let loopPthread = try loopThread.sync { pthread_self() }
        let workRanOnLoop = Locked<Bool?>(nil)

        let outcome = loopThread.await(timeout: 10) { (done: @escaping ((result: Int, completedOnLoop: Bool)) -> Void) in
            loopThread.loop.runBlocking({ () -> Int in
                workRanOnLoop.mutate { $0 = isCurrentThread(loopPthread) }
                return 6 * 7
            }, completion: { result in
                done((result, isCurrentThread(loopPthread)))
            })
        }
        XCTAssertEqual(outcome?.result, 42, "completion never ran or got the wrong result")
        XCTAssertEqual(outcome?.completedOnLoop, true, "completion ran off the loop thread")
        XCTAssertEqual(workRanOnLoop.value, false, "work ran on the loop thread")
    }

    func testLoopKeepsServingWhileBlockingWorkRuns() throws {
        let loopThread = try startedLoopThread()
        defer { stopLoop(loopThread) }
        let release = DispatchSemaphore(value: 0)
        let completed = Locked(false)
        try loopThread.sync {
            loopThread.loop.runBlocking({ () -> Bool in
                // Blocks until the test lets go; the loop must not be stuck meanwhile.
                release.wait(timeout: .now() + 10) == .success
            }, completion: { released in completed.mutate { $0 = released } })
        }
        let started = DispatchTime.now()
        let answer = try loopThread.sync { "loop is responsive" }
        XCTAssertEqual(answer, "loop is responsive")
        XCTAssertLessThan(seconds(from: started, to: .now()), 2, "loop was blocked by runBlocking work")
        XCTAssertFalse(completed.value, "completion ran before its work finished")
        release.signal()
        XCTAssertTrue(waitUntil(timeout: 5) { completed.value }, "completion did not run after the work finished")
    }

    func testManyBlockingJobsEachCompleteOnceWithTheirOwnResult() throws {
        let loopThread = try startedLoopThread()
        defer { stopLoop(loopThread) }
        let results = Box<[Int: Int]>([:])
        let completions = Box(0)
        let jobs = 200
        try loopThread.sync {
            for job in 0..<jobs {
                loopThread.loop.runBlocking({ () -> String in
                    usleep(UInt32(job % 5) * 100)
                    return String(job * job)
                }, completion: { text in
                    completions.value += 1
                    results.value[job] = Int(text)
                })
            }
        }
        XCTAssertTrue(try waitUntil(timeout: 20) { try loopThread.sync { completions.value } >= jobs })
        Thread.sleep(forTimeInterval: 0.1)
        let (count, values) = try loopThread.sync { (completions.value, results.value) }
        XCTAssertEqual(count, jobs, "some completion ran more than once")
        for job in 0..<jobs { XCTAssertEqual(values[job], job * job, "job \(job)") }
    }

    func testPendingBlockingWorkKeepsTheLoopAliveUntilItCompletes() throws {
        // Without a thread: run() must not return while work is queued.
        let loop = try EventLoop()
        var completed = false
        loop.runBlocking({ () -> Int in
            usleep(200_000)
            return 1
        }, completion: { _ in completed = true })
        loop.run()
        XCTAssertTrue(completed, "run() returned before the blocking work's completion ran")
        XCTAssertTrue(loop.close())
    }
}
