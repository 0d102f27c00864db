import EspyCluster
import EspyCore
import EspyWire
import XCTest

/// The repair formats nodes exchange on `/internal/v1/repair/*`, decoded byte by byte.
final class InternalWireRepairTests: XCTestCase {
    func testDigestsRoundTrip_includingTheLargestCountsAndHashes() throws {
        let digests: [(partition: Int, digest: PartitionDigest)] = [
            (0, PartitionDigest(count: 1, hash: 0)), (7, PartitionDigest(count: 219, hash: 0x3a29_10b5_3d06_7e96)),
            (4095, PartitionDigest(count: Int.max, hash: .max)),
        ]
        let decoded = try XCTUnwrap(InternalWire.decodeDigests(InternalWire.encodeDigests(digests)))
        XCTAssertEqual(decoded, Dictionary(uniqueKeysWithValues: digests.map { ($0.partition, $0.digest) }))
        XCTAssertEqual(InternalWire.decodeDigests([]), [:])
        XCTAssertEqual(InternalWire.decodeDigests(Array("5 3:FF".utf8)), [5: PartitionDigest(count: 3, hash: 255)], "no final newline, upper case")
    }

    func testMalformedDigestsAreRefusedWhole() {
        for text in ["5 3\n", "5 :ff\n", "x 3:ff\n", "5 3:fg\n", "5 3:10000000000000000\n", "5 99999999999999999999:1\n", " 3:1\n", "5 3:\n"] {
            XCTAssertNil(InternalWire.decodeDigests(Array(text.utf8)), text)
        }
    }

    func testRepairsRoundTrip_deduplicatedAndSorted_andBadLinesRefused() throws {
        let repairs = [PartitionReplica(partition: 9, member: "n2"), PartitionReplica(partition: 3, member: "n1"),
                       PartitionReplica(partition: 9, member: "n2")]
        XCTAssertEqual(InternalWire.decodeRepairs(InternalWire.encodeRepairs(repairs), partitionCount: 16),
                       [PartitionReplica(partition: 3, member: "n1"), PartitionReplica(partition: 9, member: "n2")])
        for text in ["", "16 n1\n", "3\n", "3 \n", "x n1\n", "3 n1 extra\n"] {
            XCTAssertNil(InternalWire.decodeRepairs(Array(text.utf8), partitionCount: 16), text)
        }
    }

    /// Found by the fuzzer: lines were split on the Character "\n", and "\r\n" is one.
    func testAMemberNameEndingInCarriageReturnRoundTrips() {
        let repairs = [PartitionReplica(partition: 1, member: "odd\r"), PartitionReplica(partition: 2, member: "n2")]
        XCTAssertEqual(InternalWire.decodeRepairs(InternalWire.encodeRepairs(repairs), partitionCount: 16), repairs)
    }
}
