import EspyCore
import EspyStorage
import EspyTestKit
import XCTest

/// Reads must see every write committed before they start. A read connection that keeps a
/// statement un-reset stays inside its old read transaction (WAL snapshot), so later queries on
/// it answer from the past; these tests pin that down for each way a statement is left active.
final class ShardReadSnapshotTests: XCTestCase {
    private var harness: ShardHarness!

    override func tearDown() {
        harness?.tearDown()
        harness = nil
    }

    private func open(readerCount: Int) throws {
        harness = try ShardHarness(readerCount: readerCount)
        try harness.open()
    }

    private func linux(_ n: Int, day: Int64 = 0) -> [PreparedRecord] {
        (0..<n).map { Fixture.record(#"{"uname":{"system":"Linux"},"n":\#($0),"d":\#(day)}"#, at: Fixture.time(day: day, micros: Int64($0))) }
    }

    /// A grouped count looks up each new value's name with a statement it steps once and never
    /// resets, which pins the reader in the snapshot of that first count.
    func testRepeatedGroupedCountsSeeNewWrites() throws {
        try open(readerCount: 2)
        _ = try harness.write(linux(3))
        XCTAssertEqual(try harness.count(groupBy: "uname$system").counts, ["Linux": 3])
        _ = try harness.write(linux(4, day: 1))
        XCTAssertEqual(try harness.count(groupBy: "uname$system").counts, ["Linux": 7])
        XCTAssertEqual(try harness.count(groupBy: "uname$release").missingCount, 7)
    }

    /// Shard.init reads the record count on reader 0 with `scalarInt`, which steps once and
    /// never resets, so reader 0 stays in the snapshot of the moment the shard opened.
    func testSingleReaderSeesWritesCommittedAfterTheShardOpened() throws {
        try open(readerCount: 1)
        _ = try harness.write(linux(5))
        XCTAssertEqual(try harness.recordCount, 5)
        XCTAssertEqual(try harness.count(groupBy: nil).recordCount, 5)
        XCTAssertEqual(try harness.count(groupBy: "uname$system").counts, ["Linux": 5])
        XCTAssertEqual(try harness.count(groupBy: "uname$release").recordCount, 5)
    }

    /// The ungrouped count steps its `SUM(n)` statement once and leaves it active; a grouped
    /// count that follows on the same reader then reads inside the earlier snapshot.
    func testGroupedCountAfterAnUngroupedCountSeesLaterWrites() throws {
        try open(readerCount: 2)
        _ = try harness.write(linux(2))
        XCTAssertEqual(try harness.count(groupBy: nil).recordCount, 2)
        _ = try harness.write(linux(3, day: 1))
        XCTAssertEqual(try harness.count(groupBy: "uname$system").counts, ["Linux": 5])
        XCTAssertEqual(try harness.count(groupBy: "uname$release").recordCount, 5)
    }

    /// An export page that stops at maxBytes leaves its statement mid-result.
    func testCountAfterAPartialExportPageSeesLaterWrites() throws {
        try open(readerCount: 2)
        _ = try harness.write(linux(50))
        let page = try harness.exportPage(after: nil, maxBytes: 100)
        XCTAssertNotNil(page.next)
        _ = try harness.write(linux(10, day: 2))
        XCTAssertEqual(try harness.count(groupBy: "uname$system").counts, ["Linux": 60])
        XCTAssertEqual(try harness.count(groupBy: nil, limit: 1000).recordCount, 60)
    }
}
