import EspyCore
@testable import EspyStorage
import EspyTestKit
import XCTest

/// A count that reads record bodies over all time is cut into runs of the records table, one
/// per reader, and the parts merged: it must answer exactly what one pass through an index does.
final class RecordSliceTests: XCTestCase {
    func testRunsCoverTheBoundsExactly_noneEmpty_inOrder() {
        for (bounds, count) in [(1..<2, 2), (1..<1_001, 2), (5..<12, 3), (0..<3, 8), (-4..<9, 1), (7..<7, 2)] as [(Range<Int64>, Int)] {
            let slices = RecordSlice.split(bounds, into: count)
            XCTAssertEqual(slices.count, min(count, bounds.count), "\(bounds) into \(count)")
            XCTAssertEqual(slices.first?.seqs.lowerBound, bounds.isEmpty ? nil : bounds.lowerBound)
            XCTAssertEqual(slices.last?.seqs.upperBound, bounds.isEmpty ? nil : bounds.upperBound)
            for (earlier, later) in zip(slices, slices.dropFirst()) { XCTAssertEqual(earlier.seqs.upperBound, later.seqs.lowerBound) }
            XCTAssertTrue(slices.allSatisfy { !$0.seqs.isEmpty })
            XCTAssertLessThanOrEqual((slices.map(\.seqs.count).max() ?? 0) - (slices.map(\.seqs.count).min() ?? 0), 1, "runs of even length")
        }
    }

    func testAScanCutAcrossThreeReadersAnswersAsOnePassThroughTheIndex() throws {
        let shard = try ShardHarness(dimensions: [], readerCount: 3)
        defer { shard.tearDown() }
        try shard.open()
        let generated = RecordFactory.generate(count: 700, start: Fixture.baseTime, spanDays: 6, seed: 43)
        for chunk in stride(from: 0, to: generated.count, by: 70) {
            _ = try shard.write(generated[chunk..<min(chunk + 70, generated.count)].map(\.record))
        }
        var truth = CountResult(recordCount: generated.count)
        for record in generated {
            if let release = record.release { truth.counts[release, default: 0] += 1 } else { truth.missingCount += 1 }
        }
        XCTAssertEqual(try shard.count(groupBy: "uname$release"), truth)

        // `since` before every record takes the index; without it the scan is cut into runs.
        let everSince = Fixture.time(day: -1)
        for parameters: QueryParameters.List in [
            [("group_by", "uname$release")],
            [("group_by", "uname$system"), ("group_by", "python$version_info$0"), ("where_not", "uname$release:6.3")],
            [("group_by", "uname$system"), ("distinct", "uname$release"), ("bucket", "day")],
        ] {
            let cut = try CountQuery(parameters: parameters)
            let indexed = try CountQuery(parameters: parameters + [("since", everSince.description)])
            XCTAssertEqual(try shard.count(cut), try shard.count(indexed), "\(parameters)")
            for partitions in [Array(0..<16), Array(0..<12), [3, 9]] {
                let restricted = { (query: CountQuery) in try shard.call { $0.count(query, partitions: partitions, completion: $1) } as CountResult }
                XCTAssertEqual(try restricted(cut), try restricted(indexed), "\(parameters) on partitions \(partitions)")
            }
        }
    }
}
