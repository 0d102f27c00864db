import EspyHTTP
import EspyHTTPClient
import EspyLoop

/// A client-side loop and HTTP client for commands that talk to a node, plus the `--http`
/// option they share.
final class NodeConnection {
    let loop: EventLoop
    let client: HTTPClient
    let server: SocketAddress

    init(http: String, requestTimeoutMilliseconds: UInt64 = 120_000) throws {
        loop = try EventLoop()
        do { server = try SocketAddress(parsing: http) } catch {
            throw CommandError("--http '\(http)' is not a numeric HOST:PORT address (e.g. 127.0.0.1:8888)")
        }
        var settings = HTTPClient.Settings()
        settings.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        client = HTTPClient(loop: loop, settings: settings)
    }

    /// One request, run to completion on this thread's loop.
    func send(_ method: HTTPMethod, _ target: String, body: [UInt8] = [],
              headers: [(name: String, value: String)] = []) throws -> HTTPResponseParser.Response {
        var outcome: Result<HTTPResponseParser.Response, HTTPClientError>?
        client.request(method, target, to: server, headers: headers, body: body) { outcome = $0 }
        while outcome == nil { loop.runOnce() }
        client.close()
        loop.run()
        switch outcome! {
        case .success(let response): return response
        case .failure(let error): throw CommandError("\(error)")
        }
    }
}

/// A failure a command reports in one line and exits 1 for.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `application/x-www-form-urlencoded`-safe encoding of a query value.
func percentEncoded(_ value: String) -> String {
    var out = ""
    for byte in value.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
        }
    }
    return out
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
