import EspyCore
@testable import EspyStorage
import EspyTestKit
import XCTest

/// A path asked by reading bodies gets a rollup of its own, built in the background; once it is
/// ready, the same questions are answered from it, with the answers a shard that reads every
/// body gives, through later writes, a dropped partition and a restart. The least recently
/// asked path makes room for a new one.
final class ShardAdaptiveTests: XCTestCase {
    private var adaptive: ShardHarness!
    private var bodies: ShardHarness!
    private var generated: [GeneratedRecord] = []

    override func setUpWithError() throws {
        adaptive = try ShardHarness()
        adaptive.settings.distinctFoldRows = 300
        bodies = try ShardHarness(dimensions: [], distinctPaths: [])
        bodies.settings.adaptiveLimit = 0
        try adaptive.open()
        try bodies.open()
        generated = RecordFactory.generate(count: 1_200, start: Fixture.baseTime, spanDays: 20, seed: 7)
        try write(generated.prefix(900))
    }

    override func tearDown() {
        adaptive?.tearDown()
        bodies?.tearDown()
        adaptive = nil
        bodies = nil
    }

    private func write(_ records: ArraySlice<GeneratedRecord>) throws {
        for chunk in stride(from: records.startIndex, to: records.endIndex, by: 100) {
            let batch = records[chunk..<min(chunk + 100, records.endIndex)].map(\.record)
            _ = try adaptive.write(batch)
            _ = try bodies.write(batch)
        }
    }

    private func query(_ parameters: QueryParameters.List) throws -> CountQuery { try CountQuery(parameters: parameters) }

    /// Questions whose one undeclared path is `uname$release`: grouped by it alone (the seed's
    /// answer), filtered on it, grouped with a declared path and a bucket, distinct of it.
    private var releaseQuestions: [CountQuery] {
        get throws {
            try [
                query([("group_by", "uname$release")]),
                query([("group_by", "uname$release"), ("where", "uname$system:Linux")]),
                query([("group_by", "python$version_info$0"), ("where", "uname$release:6.1"), ("where", "uname$release:(missing)")]),
                query([("group_by", "uname$release"), ("group_by", "uname$system"), ("bucket", "week"),
                       ("since", Fixture.time(day: 3).description), ("until", Fixture.time(day: 17).description)]),
                query([("group_by", "uname$system"), ("distinct", "uname$release"), ("where_not", "uname$release:6.3")]),
            ]
        }
    }

    private func assertAnswersMatchBodies(file: StaticString = #filePath, line: UInt = #line) throws {
        for question in try releaseQuestions {
            XCTAssertEqual(try adaptive.count(question), try bodies.count(question), "\(question)", file: file, line: line)
        }
    }

    private func status() throws -> [AdaptiveDimensionStatus] {
        let shard = try XCTUnwrap(adaptive.shard)
        return try adaptive.loopThread.sync { shard.adaptiveDimensions }
    }

    private func waitUntilReady(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for _ in 0..<500 {
            if try status().contains(where: { $0.path.description == path && $0.isReady }) { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTFail("the rollup of \(path) was not ready within 5 s: \(try status())", file: file, line: line)
    }

    private func answers(_ path: String) throws -> Int { try status().first { $0.path.description == path }?.answers ?? 0 }

    func testAPathAskedByScanIsAnsweredFromItsRollupOnceBuilt() throws {
        XCTAssertTrue(try status().isEmpty)
        try assertAnswersMatchBodies()  // read from bodies; asks for the rollup
        try waitUntilReady("uname$release")
        let before = try answers("uname$release")
        try assertAnswersMatchBodies()
        XCTAssertEqual(try answers("uname$release") - before, try releaseQuestions.count, "every question was answered from the rollup")
        XCTAssertEqual(try status().map(\.path.description), ["uname$release"], "one path: every question had the same one")
        let partialDays = try query([("group_by", "uname$release"), ("since", Fixture.time(day: 2, hours: 5).description)])
        let answered = try answers("uname$release")
        XCTAssertEqual(try adaptive.count(partialDays), try bodies.count(partialDays))
        XCTAssertEqual(try answers("uname$release"), answered, "a range with partial days reads bodies")

        try write(generated[900...])
        try assertAnswersMatchBodies()

        let dropped = generated[0].record.partition
        let removed: Int = try adaptive.call { $0.dropPartition(dropped, completion: $1) }
        let _: Int = try bodies.call { $0.dropPartition(dropped, completion: $1) }
        XCTAssertGreaterThan(removed, 0)
        try assertAnswersMatchBodies()

        try adaptive.reopen()
        XCTAssertEqual(try status().map(\.isReady), [true], "kept across restarts")
        let afterRestart = try answers("uname$release")
        try assertAnswersMatchBodies()
        XCTAssertEqual(try answers("uname$release") - afterRestart, try releaseQuestions.count)
    }

    /// A path added while records arrive counts every record once: the build takes the records
    /// that were there, writes the ones after.
    func testRecordsWrittenDuringTheBuildAreCountedOnce() throws {
        let question = try query([("group_by", "python$version_info$1"), ("where", "uname$system:Darwin")])
        XCTAssertEqual(try adaptive.count(question), try bodies.count(question))
        try write(generated[900...])
        try waitUntilReady("python$version_info$1")
        XCTAssertEqual(try adaptive.count(question), try bodies.count(question))
        XCTAssertEqual(try answers("python$version_info$1"), 1)
    }

    func testTheLeastRecentlyAskedPathMakesRoom() throws {
        adaptive.settings.adaptiveLimit = 2
        try adaptive.reopen()
        for path in ["uname$release", "python$version_info$1"] {
            _ = try adaptive.count(query([("group_by", path)]))
            try waitUntilReady(path)
        }
        _ = try adaptive.count(query([("group_by", "uname$release")]))  // now the more recent
        let question = try query([("group_by", "python$implementation"), ("where", "uname$system:Linux")])
        XCTAssertEqual(try adaptive.count(question), try bodies.count(question))
        try waitUntilReady("python$implementation")
        XCTAssertEqual(Set(try status().map(\.path.description)), ["uname$release", "python$implementation"])
        XCTAssertEqual(try adaptive.count(question), try bodies.count(question))
        try assertAnswersMatchBodies()

        adaptive.settings.adaptiveLimit = 0
        try adaptive.reopen()
        try assertAnswersMatchBodies()
        XCTAssertEqual(try answers("uname$release"), 0, "with adaptive dimensions off, nothing is answered from them")
    }
}
