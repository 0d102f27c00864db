import EspyCore
import EspyLoop
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a node's log lines go (standard error), written so that logging never blocks the loop:
/// lines logged on the loop thread are gathered and written by libuv's thread pool, one write of
/// everything gathered at a time, in order, at most `flushMilliseconds` after a line came (or
/// once `flushBytes` are gathered); lines from other threads, and any before the loop is
/// attached or after it is detached, are written at once (blocking those threads is fine).
/// A pending flush keeps the loop running, so a stopping node writes every line.
public final class LogSink: @unchecked Sendable {
    public static let standardError = LogSink(descriptor: 2)

    private let descriptor: Int32
    // Set on the loop thread before the pool or any other thread logs, and cleared once the loop
    // has stopped (no pool work is in flight then): read without a lock.
    private var loop: EventLoop?
    private var loopThread = pthread_self()
    private var gathered: [UInt8] = []
    /// The buffer of the last write, given back emptied, so that gathering does not grow a new
    /// buffer from nothing after every flush.
    private var spare: [UInt8] = []
    private var writing = false
    private var flushScheduled = false

    /// Gathering instead of writing at once: a hop to the thread pool and back per loop
    /// iteration cost a few percent of a busy node's loop (measured on `/v1/health`).
    static let flushMilliseconds: UInt64 = 50
    static let flushBytes = 256 * 1024

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// From now on, lines logged on this thread (the loop's) are written off it.
    public func attach(to loop: EventLoop) {
        loopThread = pthread_self()
        self.loop = loop
    }

    /// The loop has stopped: writes what is still gathered; lines go straight out from now on.
    public func detach() {
        loop = nil
        writeAll(gathered)
        gathered = []
    }

    func write(_ line: [UInt8]) { write { $0 += line } }

    /// Writes the line `appendLine` appends; on the loop thread it is built straight into what is
    /// gathered, with no buffer of its own.
    func write(_ appendLine: (inout [UInt8]) -> Void) {
        guard let loop, pthread_equal(pthread_self(), loopThread) != 0 else {
            var line: [UInt8] = []
            appendLine(&line)
            return writeAll(line)
        }
        appendLine(&gathered)
        flushSoon(on: loop)
    }

    private func flushSoon(on loop: EventLoop) {
        guard !writing else { return }  // the write under way looks again when it is done
        if gathered.count >= LogSink.flushBytes { return flush(on: loop) }
        guard !flushScheduled else { return }
        flushScheduled = true
        let timer = Timer(loop: loop)
        timer.start(after: LogSink.flushMilliseconds) { [self] in
            timer.close()
            flushScheduled = false
            if !writing, !gathered.isEmpty, let loop = self.loop { flush(on: loop) }
        }
    }

    private func flush(on loop: EventLoop) {
        writing = true
        let bytes = gathered
        gathered = spare
        spare = []
        loop.runBlocking({ [descriptor] () -> [UInt8] in
            LogSink.writeAll(bytes, to: descriptor)
            return bytes
        }) { [self] written in
            spare = written
            spare.removeAll(keepingCapacity: true)
            writing = false
            if !gathered.isEmpty, let loop = self.loop { flushSoon(on: loop) }
        }
    }

    private func writeAll(_ bytes: [UInt8]) { LogSink.writeAll(bytes, to: descriptor) }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = writeToDescriptor(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}

private func writeToDescriptor(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// swift-log's handler for a node: StreamLogHandler's line format (time, level, label, sorted
/// metadata, source, message) into a `LogSink`.
public struct NodeLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: LogSink

    public init(label: String, sink: LogSink = .standardError) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit { all.merge(explicit) { _, new in new } }
        var text = Timestamp.now().description + " " + level.rawValue + " " + label + ":"
        for (key, value) in all.sorted(by: { $0.key < $1.key }) { text += " \(key)=\(value)" }
        text += " [" + source + "] " + message.description + "\n"
        sink.write(Array(text.utf8))
    }
}
