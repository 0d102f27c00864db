import EspyCluster
import EspyCoordination
import EspyCore
import EspyGossip
import EspyGossipWire
import EspyHTTP
import EspyHTTPServer
import EspyLoop
import EspyNode
import EspyStorage
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

    private func address(_ text: String) throws -> SocketAddress { try SocketAddress(parsing: text) }

    /// 16 zero bytes: a valid AES-128 key.
    private let key = "AAAAAAAAAAAAAAAAAAAAAA=="

    func testEmbeddedDefaultsServeOnLoopback() throws {
        let defaults = try config("")
        XCTAssertEqual(defaults.http.server.address, try address("127.0.0.1:8888"))
        XCTAssertEqual(defaults.gossip.address, try address("127.0.0.1:7946"))
        XCTAssertEqual(defaults.node.datacenter, "dc1")
        XCTAssertEqual(defaults.node.dataDirectory, "./data")
        XCTAssertEqual(defaults.node.databasePath, "./data/shard.sqlite")
        XCTAssertEqual(defaults.cluster.partitions, 4096)
        XCTAssertEqual(defaults.http.server.limits.maxBodyBytes, 16 * 1024 * 1024)
        XCTAssertNil(defaults.gossip.keyring)
        XCTAssertFalse(defaults.node.name.isEmpty)
    }

    /// The example documents the defaults; the defaults are those of the settings types that use
    /// them, so this compares against those types rather than against NodeConfig's own values.
    func testTheExampleFileParsesToTheDefaults() throws {
        let example = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/EspyNodeTests/NodeConfigTests.swift",
                                                                                with: "cluster.toml.example"), encoding: .utf8)
        let parsed = try config(example)

        let node = NodeSettings()
        XCTAssertEqual(parsed.node.datacenter, node.datacenter)
        XCTAssertEqual(parsed.node.dataDirectory, node.dataDirectory)
        XCTAssertEqual(parsed.node.logLevel, node.logLevel)

        let server = HTTPServerSettings(address: NodeHTTPSettings.defaultAddress)
        let limits = HTTPRequestParser.Limits()
        XCTAssertEqual(parsed.http.server.address, server.address)
        XCTAssertNil(parsed.http.advertise)
        XCTAssertEqual(parsed.http.server.limits.maxBodyBytes, limits.maxBodyBytes)
        XCTAssertEqual(parsed.http.server.limits.maxHeaderBytes, limits.maxHeaderBytes)
        XCTAssertEqual(parsed.http.server.maxConnections, server.maxConnections)
        XCTAssertEqual(parsed.http.server.reservedConnections, server.reservedConnections)
        XCTAssertEqual(parsed.http.server.idleTimeoutMilliseconds, server.idleTimeoutMilliseconds)
        XCTAssertEqual(parsed.http.server.requestTimeoutMilliseconds, server.requestTimeoutMilliseconds)
        XCTAssertEqual(parsed.http.server.shutdownGraceMilliseconds, server.shutdownGraceMilliseconds)
        XCTAssertEqual(parsed.http.accessLog, NodeHTTPSettings().accessLog)

        let gossip = GossipSettings(name: "n", address: GossipAddress(ip: [127, 0, 0, 1], port: 7946))
        XCTAssertEqual(parsed.gossip, NodeGossipSettings())
        XCTAssertEqual(parsed.gossip.profile, gossip.profile)

        XCTAssertEqual(parsed.cluster.partitions, MembershipView.defaultPartitionCount)
        XCTAssertEqual(parsed.cluster.replicasPerDatacenter, PartitionMap.defaultReplicasPerDatacenter)
        XCTAssertEqual(parsed.cluster.writeQuorum, WriteQuorum.default)
        XCTAssertEqual(parsed.cluster.readConsistency, .one)
        XCTAssertEqual(parsed.cluster.failureTimeout, OwnershipRule().failureTimeout)
        XCTAssertEqual(parsed.cluster.subRequestTimeoutMilliseconds, ClusterCoordinator.defaultSubRequestTimeoutMilliseconds)

        XCTAssertEqual(parsed.repair, RepairSettings())

        let shard = ShardSettings(path: "")
        XCTAssertEqual(parsed.storage.dimensions, shard.dimensions)
        XCTAssertEqual(parsed.storage.readers, shard.readerCount)
        XCTAssertEqual(parsed.storage.durability, shard.durability)
    }

    /// Storage cannot see the cluster module, so its own partition default is a second statement
    /// of the same number; a shard opened without one must still match the cluster's placement.
    func testTheShardsDefaultPartitionCountIsTheClusters() {
        XCTAssertEqual(ShardSettings(path: "").partitionCount, MembershipView.defaultPartitionCount)
    }

    func testValuesAreRead() throws {
        let parsed = try config("""
            [node]
            name = "n7"
            datacenter = "dc3"
            log_level = "debug"
            [http]
            address = "0.0.0.0:9000"
            advertise = "10.0.0.7:9000"
            max_body_bytes = 1024
            idle_timeout_ms = 500
            access_log = false
            [gossip]
            address = "0.0.0.0:7946"
            advertise = "10.0.0.7:7946"
            join = ["10.0.0.1:7946", "10.0.0.2:7946"]
            profile = "wan"
            encrypt_keys = ["\(key)"]
            [cluster]
            partitions = 64
            replicas_per_dc = 3
            write_quorum = "one"
            read_consistency = "Verified"
            failure_timeout_ms = 3600000
            sub_request_timeout_ms = 1500
            scan_timeout_ms = 45000
            keys = ["rDJ6y4MDiU5ZcnWr3FjD1gY2JDnQ3C2HykOJmNJa2+0=", "8uT0Pt3rVNq8R2T1m9mD3dWbb1h2b9bR2c1HdG8yXcA="]
            [repair]
            interval_ms = 5000
            max_records_per_second = 500
            hint_window_ms = 60000
            leave_timeout_ms = 1000
            [storage]
            dimensions = ["uname$system"]
            adaptive_dimensions = 3
            readers = 4
            durability = "normal"
            """)
        XCTAssertEqual(parsed.node.name, "n7")
        XCTAssertEqual(parsed.node.datacenter, "dc3")
        XCTAssertEqual(parsed.node.logLevel, .debug)
        XCTAssertEqual(parsed.http.server.address, try address("0.0.0.0:9000"))
        XCTAssertEqual(parsed.http.advertise, try address("10.0.0.7:9000"))
        XCTAssertEqual(parsed.http.server.limits.maxBodyBytes, 1024)
        XCTAssertEqual(parsed.http.server.idleTimeoutMilliseconds, 500)
        XCTAssertFalse(parsed.http.accessLog)
        XCTAssertEqual(parsed.gossip.address, try address("0.0.0.0:7946"))
        XCTAssertEqual(parsed.gossip.advertise, try address("10.0.0.7:7946"))
        XCTAssertEqual(parsed.gossip.seeds, [try address("10.0.0.1:7946"), try address("10.0.0.2:7946")])
        XCTAssertEqual(parsed.gossip.profile, .wan)
        XCTAssertEqual(parsed.gossip.keyring, try Keyring(base64Keys: [key]))
        XCTAssertEqual(parsed.cluster.partitions, 64)
        XCTAssertEqual(parsed.cluster.replicasPerDatacenter, 3)
        XCTAssertEqual(parsed.cluster.writeQuorum, .one)
        XCTAssertEqual(parsed.cluster.readConsistency, .verified)
        XCTAssertEqual(parsed.cluster.failureTimeout, .seconds(3_600))
        XCTAssertEqual(parsed.cluster.subRequestTimeoutMilliseconds, 1_500)
        XCTAssertEqual(parsed.cluster.scanTimeoutMilliseconds, 45_000)
        XCTAssertEqual(parsed.cluster.keys.count, 2)
        XCTAssertEqual(parsed.repair.intervalMilliseconds, 5_000)
        XCTAssertEqual(parsed.repair.maxRecordsPerSecond, 500)
        XCTAssertEqual(parsed.repair.hintWindowMilliseconds, 60_000)
        XCTAssertEqual(parsed.repair.leaveTimeoutMilliseconds, 1_000)
        XCTAssertEqual(parsed.storage.dimensions, [try FieldPath(parsing: "uname$system")])
        XCTAssertEqual(parsed.storage.readers, 4)
        XCTAssertEqual(parsed.storage.durability, .normal)
        XCTAssertEqual(parsed.storage.adaptiveDimensions, 3)
    }

    /// Empty advertise addresses mean "use the bound address", as the example file shows them.
    func testEmptyAdvertiseAddressesAreUnset() throws {
        let parsed = try config("[http]\nadvertise = \"\"\n[gossip]\nadvertise = \"\"\nencrypt_keys = []\n")
        XCTAssertNil(parsed.http.advertise)
        XCTAssertNil(parsed.gossip.advertise)
        XCTAssertNil(parsed.gossip.keyring)
    }

    func testErrorsNameTheKey() {
        assertConfigError("[http]\nadress = \"x\"\n", key: "http.adress")
        assertConfigError("[htp]\n", key: "htp")
        assertConfigError("[http]\nmax_body_bytes = 0\n", key: "http.max_body_bytes")
        assertConfigError("[cluster]\npartitions = \"many\"\n", key: "cluster.partitions")
        assertConfigError("[cluster]\npartitions = 0\n", key: "cluster.partitions")
        assertConfigError("[cluster]\nreplicas_per_dc = 10\n", key: "cluster.replicas_per_dc")
        assertConfigError("[node]\nlog_level = \"loud\"\n", key: "node.log_level")
        assertConfigError("[node]\nname = \"\"\n", key: "node.name")
        assertConfigError("[storage]\ndurability = \"maybe\"\n", key: "storage.durability")
        assertConfigError("[storage]\nreaders = 0\n", key: "storage.readers")
        assertConfigError("[storage]\nadaptive_dimensions = -1\n", key: "storage.adaptive_dimensions")
        assertConfigError("[gossip]\naddress = \"0.0.0.0:7946\"\n", key: "gossip.advertise")
        assertConfigError("[gossip]\njoin = \"10.0.0.1:7946\"\n", key: "gossip.join")
        assertConfigError("[cluster]\nfailure_timeout_ms = 0\n", key: "cluster.failure_timeout_ms")
        assertConfigError("[repair]\nmax_records_per_second = -5\n", key: "repair.max_records_per_second")
        assertConfigError("[repair]\nintervall_ms = 5\n", key: "repair.intervall_ms")
        assertConfigError("[cluster]\ninternal_address = \"0.0.0.0:8889\"\n", key: "cluster.internal_address")
        assertConfigError("[http]\naddress = \"10.0.0.1:8888\"\n[cluster]\ninternal_address = \"10.0.0.1:8888\"\n", key: "cluster.internal_address")
        assertConfigError("[cluster]\ninternal_address = \"private:8889\"\n", key: "cluster.internal_address")
        assertConfigError("[ui]\nchart = \"x\"\n", key: "ui.chart")
    }

    func testTheInternalListenerAndTheChartLibraryAreRead() throws {
        let parsed = try config("[cluster]\ninternal_address = \"10.1.0.7:8889\"\n[ui]\nchart_library = \"/opt/chart.umd.js\"\n")
        XCTAssertEqual(parsed.cluster.internalAddress?.description, "10.1.0.7:8889")
        XCTAssertEqual(parsed.ui.chartLibraryPath, "/opt/chart.umd.js")
        XCTAssertEqual(try config("[storage]\ndistinct = [\"host_id\"]\n").storage.distinct.map(\.description), ["host_id"])
        XCTAssertNil(try config("").cluster.internalAddress, "node-to-node requests share the HTTP address unless told otherwise")
    }

    /// Every key with a type beyond string or number is parsed when the file is loaded, so a
    /// bad value stops the node before anything is bound, naming the key.
    func testABadTypedValueFailsAtLoadNamingTheKey() {
        let cases: [(toml: String, key: String)] = [
            ("[http]\naddress = \"localhost:80\"\n", "http.address"),
            ("[http]\nadvertise = \"10.0.0.1\"\n", "http.advertise"),
            ("[gossip]\naddress = \"127.0.0.1:99999\"\n", "gossip.address"),
            ("[gossip]\nadvertise = \"host:7946\"\n", "gossip.advertise"),
            ("[gossip]\njoin = [\"10.0.0.1:7946\", \"seed\"]\n", "gossip.join"),
            ("[gossip]\nprofile = \"moon\"\n", "gossip.profile"),
            ("[gossip]\nencrypt_keys = [\"not base64!\"]\n", "gossip.encrypt_keys"),
            ("[gossip]\nencrypt_keys = [\"AAAA\"]\n", "gossip.encrypt_keys"),
            ("[cluster]\nwrite_quorum = \"most\"\n", "cluster.write_quorum"),
            ("[cluster]\nread_consistency = \"quorum\"\n", "cluster.read_consistency"),
            ("[cluster]\nkeys = [\"lHdjDkiJdHhrNYrHi0H+8a1eqN+yrxcxm+SfjKYt\"]\n", "cluster.keys"),
            ("[storage]\ndimensions = [\"a$$b\"]\n", "storage.dimensions"),
            ("[storage]\ndimensions = [\"uname$system\", \"uname$system\"]\n", "storage.dimensions"),
            ("[storage]\ndistinct = [\"hostname\", \"hostname\"]\n", "storage.distinct"),
        ]
        for (toml, key) in cases {
            var config = NodeConfig()
            XCTAssertThrowsError(try config.apply(toml: toml), toml) { error in
                XCTAssertEqual((error as? ConfigError)?.key, key, "\(error)")
            }
        }
    }

    func testMessagesSayWhatIsWrong() {
        XCTAssertThrowsError(try config("[http]\naddress = \"localhost:80\"\n")) { error in
            XCTAssertEqual("\(error)", "http.address: 'localhost:80' is not a numeric HOST:PORT address (e.g. 127.0.0.1:8888)")
        }
        XCTAssertThrowsError(try config("[cluster]\nwrite_quorum = \"most\"\n")) { error in
            XCTAssertEqual("\(error)", "cluster.write_quorum: 'most' is not majority, one or all")
        }
        XCTAssertThrowsError(try config("[cluster]\nread_consistency = \"quorum\"\n")) { error in
            XCTAssertEqual("\(error)", "cluster.read_consistency: 'quorum' is not one or verified")
        }
        XCTAssertThrowsError(try config("[gossip]\nprofile = \"moon\"\n")) { error in
            XCTAssertEqual("\(error)", "gossip.profile: 'moon' is not lan, wan or local")
        }
    }

    func testInvalidTOMLIsReportedWithItsLine() {
        XCTAssertThrowsError(try config("[http]\naddress = \n")) { error in
            XCTAssertTrue("\(error)".contains("line 2"), "\(error)")
        }
    }
}
