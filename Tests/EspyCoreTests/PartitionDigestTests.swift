import EspyCore
import XCTest

final class PartitionDigestTests: XCTestCase {
    private let ids = (0..<200).map { RecordID(content: Array("record \($0)".utf8)) }

    func testDigestIgnoresOrder_andTellsSetsApart() {
        var forward = PartitionDigest()
        for id in ids { forward.add(id) }
        var backward = PartitionDigest()
        for id in ids.reversed() { backward.add(id) }
        XCTAssertEqual(forward, backward)
        var fewer = PartitionDigest()
        for id in ids.dropLast() { fewer.add(id) }
        XCTAssertNotEqual(forward, fewer)
        XCTAssertEqual(fewer.count, 199)
    }

    func testTextForm_roundTrips_andRejectsGarbage() {
        var digest = PartitionDigest()
        for id in ids { digest.add(id) }
        XCTAssertEqual(PartitionDigest(parsing: Substring(digest.description)), digest)
        XCTAssertNil(PartitionDigest(parsing: "12"))
        XCTAssertNil(PartitionDigest(parsing: "-1:ff"))
        XCTAssertNil(PartitionDigest(parsing: "3:xyz"))
    }

    func testBuckets_pointAtTheSixteenthWhereSetsDiffer() {
        let full = BucketDigests(ids: ids)
        let missing = ids[17]
        let partial = BucketDigests(ids: ids.filter { $0 != missing })
        XCTAssertEqual(full.differingBuckets(from: partial), [BucketDigests.bucket(of: missing)])
        XCTAssertEqual(full.differingBuckets(from: full), [])
        XCTAssertEqual(BucketDigests(parsing: Substring(full.description)), full)
        XCTAssertNil(BucketDigests(parsing: "1:2,3:4"), "exactly sixteen buckets")
        XCTAssertEqual(full.buckets.reduce(0) { $0 + $1.count }, ids.count)
    }
}
