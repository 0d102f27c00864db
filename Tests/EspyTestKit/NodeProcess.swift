import Foundation

/// A real `espymetrics serve` process for end-to-end tests: started on an ephemeral HTTP port,
/// its log captured (and printed only when a test fails), stopped with real signals.
public final class NodeProcess {
    public let process = Process()
    public let dataDirectory: String
    public private(set) var httpPort = 0
    /// The gossip port the node bound (UDP and TCP).
    public private(set) var gossipPort = 0
    private let logPipe = Pipe()
    private var logBytes = Data()
    private let logLock = NSLock()

    /// The built executable: $ESPYMETRICS_BIN, or `espymetrics` beside the test bundle.
    public static var executablePath: String {
        if let path = ProcessInfo.processInfo.environment["ESPYMETRICS_BIN"] { return path }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("espymetrics").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.appendingPathComponent("espymetrics").path
    }

    /// Starts a node and waits until its HTTP port answers.
    /// Starts a node and waits until its HTTP port answers. Gossip binds an ephemeral port
    /// unless `gossip` names one (a restarted node keeping its address).
    /// With `user`, the node runs as that system user (tests that cut the network between
    /// nodes tell their traffic apart by owner); this needs root.
    public init(dataDirectory: String, name: String = "test-node", gossip: String = "127.0.0.1:0",
                http: String = "127.0.0.1:0", extraArguments: [String] = [], user: String? = nil,
                environment: [String: String] = [:]) throws {
        self.dataDirectory = dataDirectory
        let arguments = ["serve", "--http", http, "--gossip", gossip, "--data-dir", dataDirectory, "--name", name] + extraArguments
        if let user {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            guard let account = getpwnam(user) else { throw NodeProcessError(message: "no user \(user)") }
            chown(dataDirectory, account.pointee.pw_uid, account.pointee.pw_gid)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(account.pointee.pw_uid)", "--regid=\(account.pointee.pw_gid)", "--clear-groups",
                                 try NodeProcess.executableReadableByEveryone()] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: NodeProcess.executablePath)
            process.arguments = arguments
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = logPipe
        process.standardError = logPipe
        logPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.logLock.lock()
            self.logBytes.append(data)
            self.logLock.unlock()
        }
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let port = boundPort("http"), let gossipPort = boundPort("gossip") {
                httpPort = port
                self.gossipPort = gossipPort
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        terminateHard()
        throw NodeProcessError(message: "node did not start; log:\n\(log)")
    }

    /// A copy of the executable any user may run: the build directory may sit under a home
    /// directory other users cannot enter.
    private static func executableReadableByEveryone() throws -> String {
        let directory = NSTemporaryDirectory() + "/espymetrics-bin-\(getpid())"
        let copy = directory + "/espymetrics"
        if FileManager.default.isExecutableFile(atPath: copy) { return copy }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try FileManager.default.copyItem(atPath: executablePath, toPath: copy)
        chmod(copy, 0o755)
        return copy
    }

    public var log: String {
        logLock.lock()
        defer { logLock.unlock() }
        return String(decoding: logBytes, as: UTF8.self)
    }

    /// A port from the node's "node serving" log line (it binds port 0, so only it knows).
    private func boundPort(_ key: String) -> Int? {
        guard let range = log.range(of: key + #"/address=127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return nil }
        return Int(log[range].split(separator: ":").last!)
    }

    /// Sends one request on a fresh connection and reads the response.
    public func request(_ method: String, _ target: String, body: [UInt8] = [], contentType: String? = nil,
                        headers: [(name: String, value: String)] = [], source: String? = nil,
                        timeout: TimeInterval = 60) throws -> RawHTTPResponse {
        let client = try RawHTTPClient(port: httpPort, source: source, receiveTimeout: timeout)
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try client.send(Array((head + "\r\n").utf8) + body)
        guard let response = client.readResponses(1).first else {
            throw NodeProcessError(message: "no response to \(method) \(target)")
        }
        return response
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit and returns its status, or nil after `timeout`.
    public func waitForExit(timeout: TimeInterval = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }

    public func terminateHard() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { terminateHard() }
}

public struct NodeProcessError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Runs the executable to completion (for --help and configuration errors).
public func runEspyMetrics(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try runToCompletion(NodeProcess.executablePath, arguments)
}

/// Runs a program to its end; returns its exit status and its standard output and error together.
public func runToCompletion(_ executable: String, _ arguments: [String],
                            environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}
