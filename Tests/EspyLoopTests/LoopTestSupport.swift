import EspyLoop
import EspyTestKit
import Foundation
import XCTest

/// A mutable value shared between the test thread and the loop thread. Writes happen on the
/// loop; the test reads it through `LoopThread.sync`, which orders the accesses.
final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// A value written from any thread (thread-pool work, producers), guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
    func mutate(_ body: (inout Value) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body(&stored)
    }
}

extension XCTestCase {
    /// A started LoopThread. `stop` must be called (normally through `stopLoop`).
    func startedLoopThread() throws -> LoopThread {
        let loopThread = try LoopThread()
        loopThread.start()
        return loopThread
    }

    /// Stops `loopThread` after `cleanup` ran on it. Fails instead of hanging when a handle stays
    /// open (the loop thread only exits once every handle is closed).
    func stopLoop(_ loopThread: LoopThread, timeout: TimeInterval = 10,
                  file: StaticString = #filePath, line: UInt = #line, _ cleanup: @escaping () -> Void = {}) {
        let stopped = DispatchSemaphore(value: 0)
        let stopper = Thread {
            loopThread.stop(cleanup)
            stopped.signal()
        }
        stopper.start()
        if stopped.wait(timeout: .now() + timeout) == .timedOut {
            XCTFail("loop thread did not stop within \(timeout) s: a handle was left open", file: file, line: line)
        }
    }

    /// Polls `condition` (evaluated on the test thread) until it holds or `timeout` passes.
    @discardableResult
    func waitUntil(timeout: TimeInterval = 10, pollInterval: TimeInterval = 0.01, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: pollInterval)
        }
        return try condition()
    }
}

/// Seconds between two DispatchTimes.
func seconds(from start: DispatchTime, to end: DispatchTime) -> Double {
    Double(end.uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func isCurrentThread(_ thread: pthread_t) -> Bool { pthread_equal(pthread_self(), thread) != 0 }
