import EspyTestKit
import XCTest

/// The executable's own interface: help text and configuration errors.
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
}
