import EspyTestKit
import Foundation
import XCTest

/// The executable's own interface: help text, configuration errors, and failing to start.
final class CommandLineTests: XCTestCase {
    func testServeHelpListsTheFlags() throws {
        let (status, output) = try runEspyMetrics(["serve", "--help"])
        XCTAssertEqual(status, 0)
        for flag in ["--config", "--http", "--gossip", "--join", "--data-dir", "--name", "--datacenter", "Examples"] {
            XCTAssertTrue(output.contains(flag), "help lacks \(flag):\n\(output)")
        }
    }

    func testVersionPrintsTheBuildVersion() throws {
        let (status, output) = try runEspyMetrics(["--version"])
        XCTAssertEqual(status, 0, output)
        let source = try String(contentsOf: CommandLineTests.repository.appendingPathComponent("Sources/EspyCore/BuildVersion.swift"),
                                encoding: .utf8)
        let declared = try XCTUnwrap(source.range(of: #"current = "[^"]+""#, options: .regularExpression).map { source[$0].dropFirst(11).dropLast() })
        XCTAssertEqual(output, String(declared) + "\n")
    }

    /// SIGINT and SIGTERM do different things in a cluster; the help says which.
    func testServeHelpTellsTheSignalsApart() throws {
        let (status, output) = try runEspyMetrics(["serve", "--help"])
        XCTAssertEqual(status, 0)
        let text = output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(text.contains("SIGINT stops the node and keeps its data"), output)
        XCTAssertTrue(text.contains("SIGTERM makes the node leave the cluster for good"), output)
        XCTAssertTrue(text.contains("hands every partition to its new owners first"), output)
        XCTAssertFalse(text.contains("SIGINT or SIGTERM shut the node down"), output)
    }

    /// What docs/operations.md shows for a data directory created with another partition count
    /// is what the node prints, with the same exit code.
    func testAChangedPartitionCountExitsTwoAsTheDocsSay() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        for count in [64, 128] {
            try "[cluster]\npartitions = \(count)\n".write(toFile: directory.file("\(count).toml"), atomically: true, encoding: .utf8)
        }
        let first = try NodeProcess(dataDirectory: directory.file("data"), extraArguments: ["--config", directory.file("64.toml")])
        first.signal(SIGINT)
        XCTAssertEqual(first.waitForExit(), 0)
        let (status, output) = try runEspyMetrics(["serve", "--config", directory.file("128.toml"), "--data-dir", directory.file("data"),
                                                   "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0"])
        XCTAssertEqual(status, 2, output)
        let printed = "espymetrics: configuration error: cluster.partitions: this data directory was created with partitions = 64, "
            + "but the configuration says 128; the partition count cannot change"
        XCTAssertEqual(output, printed + "\n")

        let docs = try String(contentsOf: CommandLineTests.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let documented = try XCTUnwrap(docs.split(separator: "\n").first { $0.contains("configuration error: cluster.partitions:") },
                                       "docs/operations.md does not show the message")
        let pattern = "^ *" + NSRegularExpression.escapedPattern(for: printed)
            .replacingOccurrences(of: "= 64", with: "= [0-9]+").replacingOccurrences(of: "says 128", with: "says [0-9]+") + "$"
        XCTAssertNotNil(documented.range(of: pattern, options: .regularExpression), "docs show: \(documented)")
        XCTAssertTrue(docs.contains("`[cluster] partitions` is refused before anything is bound, with exit code 2"))
        XCTAssertFalse(docs.contains("cannot start: storage error"))
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testUnknownConfigKeyExitsTwoNamingTheKey() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cluster.toml")
        try "[http]\nadress = \"127.0.0.1:1\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try runEspyMetrics(["serve", "--config", path, "--data-dir", directory.file("data")])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(output.contains("http.adress"), output)
    }

    func testBadAddressFlagExitsTwoNamingTheKey() throws {
        let (status, output) = try runEspyMetrics(["serve", "--http", "localhost"])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(output.contains("http.address"), output)
    }

    /// Flags are parsed as the file's keys are, and named by the key they stand for.
    func testBadTypedFlagsExitTwoNamingTheKey() throws {
        for (arguments, key) in [(["--gossip", "127.0.0.1"], "gossip.address"), (["--join", "seed:7946"], "gossip.join"),
                                 (["--encrypt", "not base64!"], "gossip.encrypt_keys"), (["--log-level", "loud"], "--log-level")] {
            let (status, output) = try runEspyMetrics(["serve"] + arguments)
            XCTAssertEqual(status, 2, output)
            XCTAssertTrue(output.contains("configuration error: \(key):"), output)
        }
    }

    func testABadClusterKeyInTheEnvironmentExitsTwoNamingTheVariable_andKeygenPrintsAKeyThatWorks() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["ESPYMETRICS_CLUSTER_KEYS"] = "c2hvcnQ="
        let (status, output) = try runToCompletion(NodeProcess.executablePath, ["serve"], environment: environment)
        XCTAssertEqual(status, 2, output)
        XCTAssertTrue(output.contains("configuration error: ESPYMETRICS_CLUSTER_KEYS: cluster key 1 is not 32 bytes"), output)

        let (keygenStatus, key) = try runEspyMetrics(["keygen"])
        XCTAssertEqual(keygenStatus, 0)
        let trimmed = key.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(Data(base64Encoded: trimmed)?.count, 32, key)
        XCTAssertNotEqual(try runEspyMetrics(["keygen"]).output, key, "a new key each time")
        // The printed key is one a node accepts: checked after it, the data directory is
        // what the node then stops on.
        environment["ESPYMETRICS_CLUSTER_KEYS"] = trimmed
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try "".write(toFile: directory.file("file"), atomically: true, encoding: .utf8)
        let (_, started) = try runToCompletion(NodeProcess.executablePath, ["serve", "--data-dir", directory.file("file")],
                                               environment: environment)
        XCTAssertTrue(started.contains("configuration error: node.data_dir"), started)
    }

    func testWrongValueTypeInConfigExitsTwo() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cluster.toml")
        try "[cluster]\npartitions = \"many\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try runEspyMetrics(["serve", "--config", path])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(output.contains("cluster.partitions"), output)
    }

    func testATakenGossipPortStopsTheNodeWithTheReason_insteadOfHanging() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let holder = try NodeProcess(dataDirectory: directory.file("holder"), name: "holder")
        defer { holder.terminateHard() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NodeProcess.executablePath)
        process.arguments = ["serve", "--name", "second", "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:\(holder.gossipPort)",
                             "--data-dir", directory.file("second")]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        guard !process.isRunning else {
            process.interrupt()
            kill(process.processIdentifier, SIGKILL)
            return XCTFail("the node kept running with its gossip port taken")
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 1, output)
        XCTAssertTrue(output.contains("cannot start: gossip 127.0.0.1:\(holder.gossipPort): address in use"), output)
    }
}
