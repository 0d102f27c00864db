import EspyNode
import XCTest

final class NodeConfigTests: XCTestCase {
    private func config(_ toml: String) throws -> NodeConfig {
        var config = NodeConfig()
        try config.apply(toml: toml)
        try config.validate()
        return config
    }

    private func assertConfigError(_ toml: String, key: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try config(toml), file: file, line: line) { error in
            XCTAssertEqual((error as? ConfigError)?.key, key, "\(error)", file: file, line: line)
        }
    }

    func testEmbeddedDefaultsServeOnLoopback() throws {
        let defaults = try config("")
        XCTAssertEqual(defaults.httpAddress, "127.0.0.1:8888")
        XCTAssertEqual(defaults.gossipAddress, "127.0.0.1:7946")
        XCTAssertEqual(defaults.datacenter, "dc1")
        XCTAssertEqual(defaults.dataDirectory, "./data")
        XCTAssertEqual(defaults.partitions, 4096)
        XCTAssertEqual(defaults.maxBodyBytes, 16 * 1024 * 1024)
        XCTAssertFalse(defaults.name.isEmpty)
    }

    func testTheExampleFileParsesToTheDefaults() throws {
        let example = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/EspyNodeTests/NodeConfigTests.swift",
                                                                                with: "cluster.toml.example"), encoding: .utf8)
        let parsed = try config(example)
        let defaults = try config("")
        XCTAssertEqual(parsed.httpAddress, defaults.httpAddress)
        XCTAssertEqual(parsed.maxConnections, defaults.maxConnections)
        XCTAssertEqual(parsed.dimensions, defaults.dimensions)
        XCTAssertEqual(parsed.durability, defaults.durability)
        XCTAssertEqual(parsed.gossipProfile, defaults.gossipProfile)
        XCTAssertEqual(parsed.failureTimeoutMilliseconds, defaults.failureTimeoutMilliseconds)
        XCTAssertEqual(parsed.repairIntervalMilliseconds, defaults.repairIntervalMilliseconds)
        XCTAssertEqual(parsed.repairMaxRecordsPerSecond, defaults.repairMaxRecordsPerSecond)
        XCTAssertEqual(parsed.hintWindowMilliseconds, defaults.hintWindowMilliseconds)
        XCTAssertEqual(parsed.leaveTimeoutMilliseconds, defaults.leaveTimeoutMilliseconds)
    }

    func testValuesAreRead() throws {
        let parsed = try config("""
            [node]
            name = "n7"
            datacenter = "dc3"
            log_level = "debug"
            [http]
            address = "0.0.0.0:9000"
            access_log = false
            [gossip]
            join = ["10.0.0.1:7946", "10.0.0.2:7946"]
            profile = "wan"
            [cluster]
            partitions = 64
            failure_timeout_ms = 3600000
            [repair]
            interval_ms = 5000
            max_records_per_second = 500
            hint_window_ms = 60000
            leave_timeout_ms = 1000
            [storage]
            dimensions = ["uname.system"]
            durability = "normal"
            """)
        XCTAssertEqual(parsed.name, "n7")
        XCTAssertEqual(parsed.datacenter, "dc3")
        XCTAssertEqual(parsed.logLevel, .debug)
        XCTAssertEqual(parsed.httpAddress, "0.0.0.0:9000")
        XCTAssertFalse(parsed.accessLog)
        XCTAssertEqual(parsed.joinSeeds, ["10.0.0.1:7946", "10.0.0.2:7946"])
        XCTAssertEqual(parsed.gossipProfile, "wan")
        XCTAssertEqual(parsed.partitions, 64)
        XCTAssertEqual(parsed.failureTimeoutMilliseconds, 3_600_000)
        XCTAssertEqual(parsed.repairIntervalMilliseconds, 5_000)
        XCTAssertEqual(parsed.repairMaxRecordsPerSecond, 500)
        XCTAssertEqual(parsed.hintWindowMilliseconds, 60_000)
        XCTAssertEqual(parsed.leaveTimeoutMilliseconds, 1_000)
        XCTAssertEqual(parsed.dimensions, ["uname.system"])
        XCTAssertEqual(parsed.durability, .normal)
    }

    func testErrorsNameTheKey() {
        assertConfigError("[http]\nadress = \"x\"\n", key: "http.adress")
        assertConfigError("[htp]\n", key: "htp")
        assertConfigError("[http]\naddress = \"localhost:80\"\n", key: "http.address")
        assertConfigError("[http]\nmax_body_bytes = 0\n", key: "http.max_body_bytes")
        assertConfigError("[cluster]\npartitions = \"many\"\n", key: "cluster.partitions")
        assertConfigError("[node]\nlog_level = \"loud\"\n", key: "node.log_level")
        assertConfigError("[storage]\ndurability = \"maybe\"\n", key: "storage.durability")
        assertConfigError("[storage]\ndimensions = [\"a$$b\"]\n", key: "storage.dimensions")
        assertConfigError("[gossip]\nprofile = \"moon\"\n", key: "gossip.profile")
        assertConfigError("[gossip]\nencrypt_keys = [\"not base64!\"]\n", key: "gossip.encrypt_keys")
        assertConfigError("[gossip]\naddress = \"0.0.0.0:7946\"\n", key: "gossip.advertise")
        assertConfigError("[gossip]\njoin = \"10.0.0.1:7946\"\n", key: "gossip.join")
        assertConfigError("[cluster]\nfailure_timeout_ms = 0\n", key: "cluster.failure_timeout_ms")
        assertConfigError("[repair]\nmax_records_per_second = -5\n", key: "repair.max_records_per_second")
        assertConfigError("[repair]\nintervall_ms = 5\n", key: "repair.intervall_ms")
    }

    func testInvalidTOMLIsReportedWithItsLine() {
        XCTAssertThrowsError(try config("[http]\naddress = \n")) { error in
            XCTAssertTrue("\(error)".contains("line 2"), "\(error)")
        }
    }
}
