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
