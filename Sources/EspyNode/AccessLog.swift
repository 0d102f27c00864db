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

    init(label: String, sink: LogSink = .standardError) {
        self.label = label
        self.sink = sink
    }

    func record(_ entry: AccessLogEntry) {
        let time = Timestamp.now()
        sink.write { line in
            appendTime(time, to: &line)
            Self.append(" info ", to: &line)
            Self.append(label, to: &line)
            // Keys in sorted order, as NodeLogHandler writes metadata.
            Self.append(": http/bytes=", to: &line)
            JSONText.appendInteger(entry.bodyBytes, to: &line)
            Self.append(" http/method=", to: &line)
            Self.append(entry.method, to: &line)
            Self.append(" http/path=", to: &line)
            Self.append(entry.path, to: &line)
            Self.append(" http/peer=", to: &line)
            Self.append(entry.peer, to: &line)
            Self.append(" http/status=", to: &line)
            JSONText.appendInteger(entry.status, to: &line)
            Self.append(" http/us=", to: &line)
            JSONText.appendInteger(Int(entry.durationMicroseconds), to: &line)
            Self.append(" [EspyNode] request\n", to: &line)
        }
    }

    private func appendTime(_ time: Timestamp, to line: inout [UInt8]) {
        let second = time.microseconds / Timestamp.microsecondsPerSecond
        if second != cachedSecond {
            cachedSecond = second
            let text = Timestamp(microseconds: second * Timestamp.microsecondsPerSecond).description
            // "…SS.000000Z": keep everything up to and including the dot.
            secondPrefix = Array(text.utf8.prefix { $0 != UInt8(ascii: ".") }) + [UInt8(ascii: ".")]
        }
        line += secondPrefix
        var fraction = Int(time.microseconds - second * Timestamp.microsecondsPerSecond)
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            for index in stride(from: 5, through: 0, by: -1) {
                buffer[index] = UInt8(ascii: "0") + UInt8(fraction % 10)
                fraction /= 10
            }
            line.append(contentsOf: buffer)
        }
        line.append(UInt8(ascii: "Z"))
    }

    private static func append(_ text: String, to line: inout [UInt8]) {
        var text = text
        text.withUTF8 { line.append(contentsOf: $0) }
    }
}
