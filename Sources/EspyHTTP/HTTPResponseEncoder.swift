import EspyCore

/// Serialises response heads and chunked framing onto an output buffer.
public enum HTTPResponseEncoder {
    /// Appends the status line and headers. `contentLength` nil means a chunked body follows.
    public static func appendHead(status: HTTPStatus, headers: [(name: String, value: String)], contentLength: Int?,
                                  keepAlive: Bool, date: String?, to out: inout [UInt8]) {
        out.append(contentsOf: status.statusLine)
        for (name, value) in headers {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if let contentLength {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.append(contentsOf: String(contentLength).utf8)
            out.append(contentsOf: "\r\n".utf8)
        } else {
            out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
        }
        if let date {
            out.append(contentsOf: "Date: ".utf8)
            out.append(contentsOf: date.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive { out.append(contentsOf: "Connection: close\r\n".utf8) }
        out.append(contentsOf: "\r\n".utf8)
    }

    public static func appendChunk(_ bytes: [UInt8], to out: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        out.append(contentsOf: String(bytes.count, radix: 16).utf8)
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: bytes)
        out.append(contentsOf: "\r\n".utf8)
    }

    public static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    public static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for the Date header, from Unix seconds.
    public static func httpDate(unixSeconds: Int64) -> String {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondsInDay = unixSeconds - days * 86_400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let (year, month, day) = Timestamp.civilDate(fromDays: days)
        let monthName = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Int(month - 1)]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(day)) \(monthName) \(year) \(two(secondsInDay / 3600)):\(two(secondsInDay / 60 % 60)):\(two(secondsInDay % 60)) GMT"
    }
}
