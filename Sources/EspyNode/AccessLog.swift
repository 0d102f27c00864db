import EspyCore
import EspyHTTPServer

/// The access log: one line per response, in the node's log format (what `NodeLogHandler`
/// writes for `logger.info("request", metadata: ...)`), built straight into bytes on the loop
/// and written off it by the `LogSink`. Going through swift-log cost a metadata dictionary,
/// a sort and a dozen string interpolations per request, which halved `/v1/health` throughput;
/// this costs a few appends, and the time prefix is formatted once per second.
final class AccessLog {
    private let label: String
    private let sink: LogSink
    private var cachedSecond: Int64 = -1
    /// `YYYY-MM-DDTHH:MM:SS.` of `cachedSecond`.
    private var secondPrefix: [UInt8] = []
    private var line: [UInt8] = []

    init(label: String, sink: LogSink = .standardError) {
        self.label = label
        self.sink = sink
        line.reserveCapacity(256)
    }

    func record(_ entry: AccessLogEntry) {
        line.removeAll(keepingCapacity: true)
        appendTime(Timestamp.now())
        append(" info ")
        append(label)
        // Keys in sorted order, as NodeLogHandler writes metadata.
        append(": http/bytes=")
        append(entry.bodyBytes)
        append(" http/method=")
        append(entry.method)
        append(" http/path=")
        append(entry.path)
        append(" http/peer=")
        append(entry.peer)
        append(" http/status=")
        append(entry.status)
        append(" http/us=")
        append(Int(entry.durationMicroseconds))
        append(" [EspyNode] request\n")
        sink.write(line)
    }

    private func appendTime(_ time: Timestamp) {
        let second = time.microseconds / Timestamp.microsecondsPerSecond
        if second != cachedSecond {
            cachedSecond = second
            let text = Timestamp(microseconds: second * Timestamp.microsecondsPerSecond).description
            // "…SS.000000Z": keep everything up to and including the dot.
            secondPrefix = Array(text.utf8.prefix { $0 != UInt8(ascii: ".") }) + [UInt8(ascii: ".")]
        }
        line += secondPrefix
        var fraction = Int(time.microseconds - second * Timestamp.microsecondsPerSecond)
        let start = line.count
        line.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 6))
        for index in stride(from: start + 5, through: start, by: -1) {
            line[index] = UInt8(ascii: "0") + UInt8(fraction % 10)
            fraction /= 10
        }
        line.append(UInt8(ascii: "Z"))
    }

    private func append(_ text: String) {
        var text = text
        text.withUTF8 { line.append(contentsOf: $0) }
    }

    private func append(_ value: Int) { JSONText.appendInteger(value, to: &line) }
}
