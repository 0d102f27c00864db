import EspyCore
@testable import EspyStorage
import EspyTestKit
import Foundation
import XCTest

/// Opening existing files: migrations, the fixed partition count, newer schema versions and
/// changes to the declared dimensions.
final class ShardSchemaTests: XCTestCase {
    private var harness: ShardHarness!

    override func setUpWithError() throws {
        harness = try ShardHarness()
    }

    override func tearDown() {
        harness?.tearDown()
        harness = nil
    }

    /// Migration 1 exactly as released; a file made with it is what an old node left on disk.
    private static let migration1 = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE records (
            seq INTEGER PRIMARY KEY,
            id BLOB NOT NULL UNIQUE,
            partition INTEGER NOT NULL,
            server_time INTEGER NOT NULL,
            dims BLOB NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX records_by_time ON records (server_time, id, dims);
        CREATE TABLE dimensions (slot INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
        CREATE TABLE dimension_values (
            value_id INTEGER PRIMARY KEY,
            slot INTEGER NOT NULL,
            value TEXT NOT NULL,
            UNIQUE (slot, value)
        );
        CREATE TABLE daily_counts (
            slot INTEGER NOT NULL,
            day INTEGER NOT NULL,
            value_id INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (slot, day, value_id)
        ) WITHOUT ROWID;
        CREATE TABLE daily_totals (day INTEGER PRIMARY KEY, n INTEGER NOT NULL);
        """

    /// Runs SQL with the sqlite3 command-line tool, independently of the code under test.
    @discardableResult
    private func sqlite3(_ path: String, _ sql: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-batch", path]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(sql.utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "sqlite3 failed: \(errorText)", file: file, line: line)
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private func sqlLiteral(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// A version-1 file with three records and no rollups or dimensions, as a hand-made or
    /// pre-rollup file would have; returns the records.
    private func makeVersion1File() throws -> [PreparedRecord] {
        let records = [
            Fixture.record(#"{"python":{"version_info":[3,11]},"uname":{"system":"Linux"},"n":1}"#, at: Fixture.time(day: 0, hours: 4)),
            Fixture.record(#"{"python":{"version_info":[3,12]},"uname":{"system":"Linux"},"n":2}"#, at: Fixture.time(day: 1, hours: 4)),
            Fixture.record(#"{"python":{"version_info":[2,7]},"uname":{"system":"Darwin"},"n":3}"#, at: Fixture.time(day: 2, hours: 4)),
        ]
        var sql = Self.migration1 + "\nPRAGMA user_version = 1;\n"
        for record in records {
            sql += "INSERT INTO records (id, partition, server_time, dims, body) VALUES "
                + "(X'\(hex(record.id.bytes))', \(record.partition), \(record.serverTime.microseconds), X'', "
                + "\(sqlLiteral(String(decoding: record.body, as: UTF8.self))));\n"
        }
        try sqlite3(harness.path, sql)
        XCTAssertEqual(try sqlite3(harness.path, "PRAGMA user_version;"), "1")
        XCTAssertEqual(try sqlite3(harness.path, "SELECT count(*) FROM records;"), "3")
        return records
    }

    func testReleasedMigrationOneIsUnchanged() {
        XCTAssertEqual(ShardSchema.migrations.first, Self.migration1)
    }

    func testNewFileIsAtTheCurrentSchemaVersion() throws {
        try harness.open()
        harness.close()
        XCTAssertEqual(try sqlite3(harness.path, "PRAGMA user_version;"), String(ShardSchema.migrations.count))
        XCTAssertEqual(try sqlite3(harness.path, "SELECT value FROM meta WHERE key = 'partitions';"), "16")
    }

    func testOpeningAVersion1FileMigratesItAndKeepsTheRecords() throws {
        let records = try makeVersion1File()
        try harness.open()

        XCTAssertEqual(try harness.recordCount, 3)
        var expected: [Int: PartitionDigest] = [:]
        for record in records { expected[record.partition, default: PartitionDigest()].add(record.id) }
        XCTAssertEqual(try harness.digests, expected, "migration 3 computes digests of the records already there")
        XCTAssertEqual(try harness.count(groupBy: "uname$system"),
                       CountResult(recordCount: 3, counts: ["Linux": 2, "Darwin": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: "python$version_info$0"),
                       CountResult(recordCount: 3, counts: ["3": 2, "2": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: "uname$system", since: Fixture.time(day: 1), until: Fixture.time(day: 3)),
                       CountResult(recordCount: 2, counts: ["Linux": 1, "Darwin": 1], missingCount: 0))
        let linuxByMajor = try CountQuery(parameters: [("group_by", "python$version_info$0"), ("where", "uname$system:Linux")])
        XCTAssertEqual(try harness.count(linuxByMajor), CountResult(recordCount: 2, counts: [CompositeKey.encode(["3"]): 2]),
                       "migration 4 fills the combination rollup")
        XCTAssertEqual(try harness.write(records).counts, WriteOutcome(inserted: 0, duplicates: 3))
        XCTAssertEqual(try harness.exportAll(maxBytes: 4096).lines.count, 3)
        harness.close()

        XCTAssertGreaterThanOrEqual(ShardSchema.migrations.count, 2)
        XCTAssertEqual(try sqlite3(harness.path, "PRAGMA user_version;"), String(ShardSchema.migrations.count))
        XCTAssertEqual(try sqlite3(harness.path, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'records_by_partition';"),
                       "records_by_partition")
        XCTAssertEqual(try sqlite3(harness.path, "SELECT count(*) FROM records;"), "3")
        XCTAssertEqual(try sqlite3(harness.path, "SELECT group_concat(path, ',') FROM (SELECT path FROM dimensions ORDER BY slot);"),
                       "python$version_info$0,uname$system,hostname,host_id", "the dimensions, then the distinct paths")
        XCTAssertEqual(try sqlite3(harness.path, "SELECT count(*) FROM records WHERE length(dims) = 16;"), "3")
        XCTAssertEqual(try sqlite3(harness.path, "SELECT count(*), sum(n) FROM daily_combinations;"), "3|3")
    }

    func testChangingDimensionsRecomputesCountsOnReopen() throws {
        harness.settings.dimensions = [try FieldPath(parsing: "uname$system")]
        try harness.open()
        let generated = RecordFactory.generate(count: 500, start: Fixture.baseTime, spanDays: 6, seed: 17)
        _ = try harness.write(generated.map(\.record))
        let since = Fixture.time(day: 1, hours: 12)
        let until = Fixture.time(day: 5)

        // A new dimension, then the same two in the other order (their slots swap), then none.
        let layouts: [[String]] = [
            ["python$version_info$0"],
            ["python$version_info$0", "uname$system"],
            ["uname$system", "python$version_info$0", "uname$release"],
            [],
        ]
        for layout in layouts {
            harness.close()
            harness.settings.dimensions = try layout.map { try FieldPath(parsing: $0) }
            try harness.open()
            XCTAssertEqual(try harness.recordCount, 500, "\(layout)")
            for path in ["python$version_info$0", "uname$system", "uname$release"] {
                XCTAssertEqual(try harness.count(groupBy: path), RecordFactory.expected(generated, groupBy: path), "\(layout) \(path)")
                XCTAssertEqual(try harness.count(groupBy: path, since: since, until: until),
                               RecordFactory.expected(generated, groupBy: path, since: since, until: until), "\(layout) \(path)")
            }
            let stored = try sqlite3(harness.path, "SELECT coalesce(group_concat(path, ','), '') FROM (SELECT path FROM dimensions ORDER BY slot);")
            XCTAssertEqual(stored, (layout + ["hostname", "host_id"]).joined(separator: ","))
        }
    }

    func testNewRecordsAfterADimensionChangeAreCountedWithTheOldOnes() throws {
        harness.settings.dimensions = []
        try harness.open()
        _ = try harness.write([Fixture.record(#"{"uname":{"system":"Linux"}}"#, at: Fixture.time(day: 0))])
        harness.close()
        harness.settings.dimensions = [try FieldPath(parsing: "uname$system")]
        try harness.open()
        _ = try harness.write([Fixture.record(#"{"uname":{"system":"Linux"},"n":2}"#, at: Fixture.time(day: 0, hours: 1)),
                               Fixture.record(#"{"uname":{"system":"BSD"}}"#, at: Fixture.time(day: 3))])
        XCTAssertEqual(try harness.count(groupBy: "uname$system"),
                       CountResult(recordCount: 3, counts: ["Linux": 2, "BSD": 1], missingCount: 0))
        XCTAssertEqual(try harness.count(groupBy: "uname$system", until: Fixture.time(day: 1)),
                       CountResult(recordCount: 2, counts: ["Linux": 2], missingCount: 0))
    }

    func testPartitionCountCannotChange() throws {
        harness.settings.partitionCount = 4096
        try harness.open()
        _ = try harness.write([Fixture.record(#"{"a":1}"#, at: Fixture.baseTime, partitionCount: 4096)])
        harness.close()

        harness.settings.partitionCount = 16
        XCTAssertThrowsError(try harness.open()) { error in
            let message = "\(error)"
            XCTAssertTrue(error is StorageError, message)
            XCTAssertTrue(message.contains("partitions"), message)
            XCTAssertTrue(message.contains("4096"), message)
            XCTAssertTrue(message.contains("16"), message)
        }

        // The refused open left the file usable with the right count.
        harness.settings.partitionCount = 4096
        try harness.open()
        XCTAssertEqual(try harness.recordCount, 1)
    }

    func testFileFromANewerSchemaIsRefused() throws {
        try sqlite3(harness.path, "CREATE TABLE future (x INTEGER); PRAGMA user_version = 99;")
        XCTAssertThrowsError(try harness.open()) { error in
            let message = "\(error)"
            XCTAssertTrue(error is StorageError, message)
            XCTAssertTrue(message.contains("99"), message)
            XCTAssertTrue(message.contains("newer"), message)
        }
        XCTAssertEqual(try sqlite3(harness.path, "PRAGMA user_version;"), "99")
        XCTAssertEqual(try sqlite3(harness.path, "SELECT count(*) FROM sqlite_master WHERE name = 'records';"), "0")
    }

    func testFileThatIsNotADatabaseIsRefused() throws {
        try Data("this is not a database, just some text that is long enough to fill a header".utf8)
            .write(to: URL(fileURLWithPath: harness.path))
        XCTAssertThrowsError(try harness.open()) { error in
            XCTAssertTrue(error is StorageError, "\(error)")
        }
    }
}
