import ArgumentParser
import EspyHTTP
import Foundation
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
        if let token = try Self.operatorToken() {
            client.headersFor = { _, _, _ in [("Authorization", "Bearer " + token)] }
        }
    }

    /// The operator token for remove, leave and imports that keep server_time: from
    /// ESPYMETRICS_OPERATOR_TOKEN, or the file ESPYMETRICS_OPERATOR_TOKEN_FILE names; never a
    /// flag, which every user of the machine could read in ps.
    static func operatorToken() throws -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let token = environment["ESPYMETRICS_OPERATOR_TOKEN"], !token.isEmpty { return token }
        guard let path = environment["ESPYMETRICS_OPERATOR_TOKEN_FILE"], !path.isEmpty else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandError("ESPYMETRICS_OPERATOR_TOKEN_FILE: cannot read '\(path)'")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Said in the help of the commands that need a token.
    static let operatorTokenHelp = """
        A node with [http] operator_tokens takes this only with one of them: set \
        ESPYMETRICS_OPERATOR_TOKEN, or ESPYMETRICS_OPERATOR_TOKEN_FILE to a file holding it. \
        Without tokens, a node takes it from its own host only.
        """

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

/// Sends one request to a node and returns its JSON answer; any failure is one line and exit 1.
func askNode(_ http: String, _ method: HTTPMethod, _ target: String) throws -> (HTTPResponseParser.Response, [String: Any]) {
    let response: HTTPResponseParser.Response
    do {
        response = try NodeConnection(http: http).send(method, target)
    } catch {
        printError("espymetrics: \(error)")
        throw ExitCode(1)
    }
    guard (200..<300).contains(response.status),
          let answer = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
        printError("espymetrics: the node answered \(response.status): \(response.bodyText)")
        throw ExitCode(1)
    }
    return (response, answer)
}

/// The output formats of commands that print a node's answer.
enum TableOrJSON: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// A failure a command reports in one line and exits 1 for.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
