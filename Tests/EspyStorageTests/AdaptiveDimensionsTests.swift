import EspyCore
@testable import EspyStorage
import XCTest

/// The decisions alone: which question has a candidate path, when a path is added (once), when
/// it answers, and which path makes room.
final class AdaptiveDimensionsTests: XCTestCase {
    private let dimensions = try! ["uname$system", "python$version_info$0"].map { try FieldPath(parsing: $0) }
    private let release = try! FieldPath(parsing: "uname$release")
    private let machine = try! FieldPath(parsing: "uname$machine")

    private func candidate(_ parameters: QueryParameters.List) throws -> FieldPath? {
        AdaptiveDimensions.candidate(of: try CountQuery(parameters: parameters), dimensions: dimensions,
                                     slotPaths: dimensions + [try FieldPath(parsing: "hostname")])
    }

    func testTheCandidateIsTheOneUndeclaredPath() throws {
        XCTAssertEqual(try candidate([("group_by", "uname$release"), ("where", "uname$system:Linux")]), release)
        XCTAssertEqual(try candidate([("group_by", "uname$system"), ("where", "uname$release:6.1"), ("distinct", "uname$release")]), release)
        XCTAssertNil(try candidate([("group_by", "uname$system")]), "everything declared")
        XCTAssertNil(try candidate([("group_by", "uname$release"), ("group_by", "uname$machine")]), "two undeclared paths")
        XCTAssertNil(try candidate([("group_by", "uname$release"), ("limit", "10")]), "limit reads the newest records")
        XCTAssertNil(try candidate([("group_by", "uname$release"), ("distinct", "user")]), "an undeclared distinct path")
        XCTAssertNil(try candidate([("group_by", "hostname")]), "a declared distinct path")
    }

    func testAPathIsAddedOnceAndAnswersOnceBuilt() {
        var adaptive = AdaptiveDimensions(limit: 2)
        guard case .add(let slot, nil) = adaptive.asked(release, now: 1) else { return XCTFail("first ask adds") }
        XCTAssertEqual(adaptive.asked(release, now: 2), .scan, "asked again while being added")
        let entry = AdaptiveDimensions.Entry(path: release, slot: slot, buildEnd: 100, builtThrough: 0, lastAskedMilliseconds: 1)
        adaptive.added(release, entry: entry, evicted: nil)
        XCTAssertEqual(adaptive.asked(release, now: 3), .scan, "building")
        adaptive.built(slot: slot, through: 100)
        XCTAssertEqual(adaptive.asked(release, now: 4), .answer(slot: slot))
        adaptive.answered(slot: slot)
        XCTAssertEqual(adaptive.entries.first?.answers, 1)
    }

    func testTheLeastRecentlyAskedPathMakesRoomAndSlotsAreNotShared() {
        var adaptive = AdaptiveDimensions(limit: 2)
        var slots: [Int] = []
        for (index, path) in [release, machine].enumerated() {
            guard case .add(let slot, nil) = adaptive.asked(path, now: UInt64(index)) else { return XCTFail("adds \(path)") }
            slots.append(slot)
            adaptive.added(path, entry: .init(path: path, slot: slot, buildEnd: 0, builtThrough: 0, lastAskedMilliseconds: UInt64(index)), evicted: nil)
        }
        XCTAssertEqual(Set(slots).count, 2)
        _ = adaptive.asked(release, now: 10)
        let third = try! FieldPath(parsing: "python$implementation")
        guard case .add(let slot, let evicting) = adaptive.asked(third, now: 11) else { return XCTFail("adds a third") }
        XCTAssertEqual(evicting, machine)
        XCTAssertFalse(slots.contains(slot), "a new slot, not the evicted one's: its rows go in the same transaction")
        adaptive.added(third, entry: .init(path: third, slot: slot, buildEnd: 0, builtThrough: 0, lastAskedMilliseconds: 11), evicted: evicting)
        XCTAssertEqual(Set(adaptive.entries.map(\.path)), [release, third])

        var off = AdaptiveDimensions(limit: 0, entries: adaptive.entries)
        XCTAssertEqual(off.asked(release, now: 12), .scan, "limit 0 answers from none")
    }
}
