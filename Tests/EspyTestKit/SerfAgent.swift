import Foundation

/// A stock `serf` agent (Debian's package) on loopback, as a real gossip peer for interop tests.
public final class SerfAgent {
    public let process = Process()
    public let name: String
    public let bindPort: Int
    public let rpcPort: Int
    private let logPipe = Pipe()

    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/serf") }

    public init(name: String, tags: [String: String] = [:], encryptKey: String? = nil) throws {
        self.name = name
        bindPort = try freePort()
        rpcPort = try freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/serf")
        process.arguments = ["agent", "-node=\(name)", "-bind=127.0.0.1:\(bindPort)", "-rpc-addr=127.0.0.1:\(rpcPort)"]
            + tags.sorted(by: { $0.key < $1.key }).flatMap { ["-tag", "\($0.key)=\($0.value)"] }
            + (encryptKey.map { ["-encrypt=\($0)"] } ?? [])
        process.standardOutput = logPipe
        process.standardError = logPipe
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? command(["members"]))?.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw NodeProcessError(message: "serf agent did not start")
    }

    /// Runs `serf <arguments> -rpc-addr=…` against this agent.
    public func command(_ arguments: [String]) throws -> (status: Int32, output: String) {
        // Go's flag parsing stops at the first positional argument, so the RPC address goes right
        // after the subcommand.
        try runToCompletion("/usr/bin/serf", [arguments[0], "-rpc-addr=127.0.0.1:\(rpcPort)"] + arguments.dropFirst())
    }

    /// A fresh key from `serf keygen` (base64 of 32 random bytes).
    public static func keygen() throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/serf")
        process.arguments = ["keygen"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `serf members -format=json`: name → (status, tags).
    public func members() throws -> [String: (status: String, tags: [String: String])] {
        let (status, output) = try command(["members", "-format=json"])
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let members = object["members"] as? [[String: Any]] else { return [:] }
        var result: [String: (status: String, tags: [String: String])] = [:]
        for member in members {
            guard let name = member["name"] as? String else { continue }
            result[name] = (member["status"] as? String ?? "", member["tags"] as? [String: String] ?? [:])
        }
        return result
    }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// A port free on 127.0.0.1 for both TCP and UDP at the time of asking.
public func freePort() throws -> Int {
    for _ in 0..<20 {
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(tcp) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(tcp, pointer, length) == 0 && getsockname(tcp, pointer, &length) == 0
            }
        }
        guard bound else { continue }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(udp) }
        let udpFree = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, length) == 0 }
        }
        if udpFree { return port }
    }
    throw NodeProcessError(message: "no free port")
}
