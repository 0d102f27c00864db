import EspyLoop
import EspyTestKit
import Foundation
import XCTest

final class LoopTaskQueueTests: XCTestCase {
    func testTasksFromAnotherThreadRunInEnqueueOrderOnTheLoopThread() throws {
        let loopThread = try startedLoopThread()
        let loopPthread = try loopThread.sync { pthread_self() }
        let queue = try loopThread.sync { try LoopTaskQueue(loop: loopThread.loop) }
        defer { stopLoop(loopThread) { queue.close() } }

        let ran = Box<[Int]>([])
        let offLoop = Box(0)
        let total = 10_000
        let producer = Thread {
            for index in 0..<total {
                queue.enqueue {
                    if !isCurrentThread(loopPthread) { offLoop.value += 1 }
                    ran.value.append(index)
                }
            }
        }
        producer.start()

        XCTAssertTrue(try waitUntil(timeout: 20) { try loopThread.sync { ran.value.count } == total })
        let result = try loopThread.sync { (ran.value, offLoop.value) }
        XCTAssertEqual(result.0, Array(0..<total), "tasks ran out of enqueue order")
        XCTAssertEqual(result.1, 0, "tasks ran off the loop thread")
    }

    func testTasksFromSeveralThreadsAllRunAndKeepEachProducersOrder() throws {
        let loopThread = try startedLoopThread()
        let loopPthread = try loopThread.sync { pthread_self() }
        let queue = try loopThread.sync { try LoopTaskQueue(loop: loopThread.loop) }
        defer { stopLoop(loopThread) { queue.close() } }

        let ran = Box<[(producer: Int, index: Int)]>([])
        let offLoop = Box(0)
        let producers = 4, perProducer = 2_500
        for producer in 0..<producers {
            Thread {
                for index in 0..<perProducer {
                    queue.enqueue {
                        if !isCurrentThread(loopPthread) { offLoop.value += 1 }
                        ran.value.append((producer, index))
                    }
                    if index % 100 == 0 { usleep(100) }
                }
            }.start()
        }

        XCTAssertTrue(try waitUntil(timeout: 20) { try loopThread.sync { ran.value.count } == producers * perProducer })
        let (entries, offLoopCount) = try loopThread.sync { (ran.value, offLoop.value) }
        XCTAssertEqual(offLoopCount, 0, "tasks ran off the loop thread")
        for producer in 0..<producers {
            XCTAssertEqual(entries.filter { $0.producer == producer }.map(\.index), Array(0..<perProducer),
                           "producer \(producer)'s tasks ran out of order or went missing")
        }
    }

    func testTaskEnqueuedFromATaskRunsAfterItNotInsideIt() throws {
        let loopThread = try startedLoopThread()
        let queue = try loopThread.sync { try LoopTaskQueue(loop: loopThread.loop) }
        defer { stopLoop(loopThread) { queue.close() } }

        let log = Box<[String]>([])
        queue.enqueue {
            log.value.append("outer begins")
            queue.enqueue { log.value.append("inner") }
            log.value.append("outer ends")
        }
        XCTAssertTrue(try waitUntil(timeout: 5) { try loopThread.sync { log.value.count } == 3 },
                      "a task enqueued from the loop thread never ran")
        XCTAssertEqual(try loopThread.sync { log.value }, ["outer begins", "outer ends", "inner"])
    }

    func testTasksEnqueuedBeforeTheLoopRunsAreRunWhenItDoes() throws {
        let loop = try EventLoop()
        let queue = try LoopTaskQueue(loop: loop)
        let ran = Box<[Int]>([])
        let producer = Thread {
            for index in 0..<3 { queue.enqueue { ran.value.append(index) } }
        }
        producer.start()
        while !producer.isFinished { usleep(1_000) }
        queue.enqueue { queue.close() }
        loop.run() // returns once the queue (the only handle) is closed
        XCTAssertEqual(ran.value, [0, 1, 2])
        XCTAssertTrue(loop.close())
    }
}
