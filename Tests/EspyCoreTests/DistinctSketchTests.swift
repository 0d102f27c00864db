import EspyCore
import XCTest

/// Distinct counts: exact while small, HyperLogLog beyond, mergeable without loss.
final class DistinctSketchTests: XCTestCase {
    private func sketch(_ values: some Sequence<String>) -> DistinctSketch {
        var sketch = DistinctSketch()
        for value in values { sketch.insert(value) }
        return sketch
    }

    func testExactUpToTheLimit_repeatsCountOnce() {
        let small = sketch((0..<DistinctSketch.exactLimit).map { "host\($0)" } + ["host1", "host2"])
        XCTAssertTrue(small.isExact)
        XCTAssertEqual(small.count, DistinctSketch.exactLimit)
        XCTAssertFalse(sketch((0...DistinctSketch.exactLimit).map { "host\($0)" }).isExact)
    }

    func testBeyondTheLimit_theEstimateIsWithinThreeStandardErrors() {
        for n in [5_000, 20_000, 100_000, 300_000] {
            let estimate = Double(sketch((0..<n).map { "value-\($0)" }).count)
            XCTAssertEqual(estimate, Double(n), accuracy: Double(n) * 3 * DistinctSketch.relativeError, "\(n) values")
        }
    }

    func testMergingPartsEqualsCountingTheWhole_whateverTheirKinds() {
        let all = (0..<50_000).map { "v\($0 % 30_000)" }
        let whole = sketch(all)
        for cut in [10, 3_000, 25_000, 49_990] {
            var merged = sketch(all[..<cut])
            merged.merge(sketch(all[cut...]))
            XCTAssertEqual(merged.count, whole.count, "cut at \(cut)")
            XCTAssertEqual(merged, whole, "cut at \(cut)")
        }
        var twoSmall = sketch(["a", "b"])
        twoSmall.merge(sketch(["b", "c"]))
        XCTAssertEqual(twoSmall.count, 3)
        XCTAssertTrue(twoSmall.isExact)
    }

    func testTheWireFormRoundTrips_andGarbageIsRefused() {
        for values in [[String](), ["a"], (0..<10_000).map { "x\($0)" }] {
            let original = sketch(values)
            XCTAssertEqual(DistinctSketch(bytes: original.bytes), original)
        }
        XCTAssertNil(DistinctSketch(bytes: []))
        XCTAssertNil(DistinctSketch(bytes: [0, 1, 2]), "not a whole number of hashes")
        XCTAssertNil(DistinctSketch(bytes: [1] + [UInt8](repeating: 0, count: 100)), "too few registers")
        XCTAssertNil(DistinctSketch(bytes: [7]))
    }

    func testTheHashIsTheSameInEveryProcess() {
        // Nodes merge each other's sketches: a per-process seed would count every value twice.
        // Reference values computed independently (FNV-1a 64, then MurmurHash3's fmix64).
        XCTAssertEqual(DistinctSketch.hash("host1"), 0xdf4c_3ca1_1dcd_76a5)
        XCTAssertEqual(DistinctSketch.hash(""), 0xefd0_1f60_ba99_2926)
    }
}
