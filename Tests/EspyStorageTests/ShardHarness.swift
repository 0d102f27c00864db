import EspyCore
import EspyStorage
import EspyTestKit
import Foundation
import EspyTestRandom
import XCTest

/// A real shard on a real SQLite file in a temporary directory, driven from the test thread
/// through a loop thread, as the node drives it.
final class ShardHarness {
    let directory: TemporaryDirectory
    let loopThread: LoopThread
    private(set) var shard: Shard?
    var settings: ShardSettings

    var path: String { settings.path }

    init(directory: TemporaryDirectory = TemporaryDirectory(prefix: "espy-storage-test"),
         partitionCount: Int = 16, dimensions: [String] = ["python$version_info$0", "uname$system"],
         distinctPaths: [String] = ["hostname", "host_id"],
         readerCount: Int = 2, durability: ShardSettings.Durability = .normal) throws {
        self.directory = directory
        settings = ShardSettings(path: directory.file("shard.sqlite"), partitionCount: partitionCount,
                                 dimensions: try dimensions.map { try FieldPath(parsing: $0) },
                                 distinctPaths: try distinctPaths.map { try FieldPath(parsing: $0) },
                                 readerCount: readerCount, durability: durability)
        loopThread = try LoopThread()
        loopThread.start()
    }

    /// Opens the shard with the current `settings`.
    func open() throws {
        let settings = self.settings
        let loop = loopThread.loop
        shard = try loopThread.sync { try Shard(loop: loop, settings: settings) }
    }

    private var openShard: Shard {
        guard let shard else { fatalError("the shard is not open") }
        return shard
    }

    func write(_ records: [PreparedRecord], file: StaticString = #filePath, line: UInt = #line) throws -> WriteOutcome {
        let shard = openShard
        let result: Result<WriteOutcome, StorageError>? = loopThread.await { done in shard.write(records) { done($0) } }
        return try XCTUnwrap(result, "write timed out", file: file, line: line).get()
    }

    func count(_ query: CountQuery = CountQuery(), file: StaticString = #filePath, line: UInt = #line) throws -> CountResult {
        let shard = openShard
        let result: Result<CountResult, StorageError>? = loopThread.await { done in shard.count(query) { done($0) } }
        return try XCTUnwrap(result, "count timed out", file: file, line: line).get()
    }

    func count(groupBy: String?, limit: Int? = nil, since: Timestamp? = nil, until: Timestamp? = nil) throws -> CountResult {
        try count(CountQuery(groupBy: try groupBy.map { try FieldPath(parsing: $0) }, limit: limit, since: since, until: until))
    }

    func exportPage(after cursor: ExportCursor?, since: Timestamp? = nil, until: Timestamp? = nil,
                    maxBytes: Int) throws -> ExportPage {
        let shard = openShard
        let result: Result<ExportPage, StorageError>? = loopThread.await { done in
            shard.exportPage(after: cursor, since: since, until: until, maxBytes: maxBytes) { done($0) }
        }
        return try XCTUnwrap(result, "export timed out").get()
    }

    /// Every exported line, following cursors page by page; also returns the number of pages.
    func exportAll(since: Timestamp? = nil, until: Timestamp? = nil, maxBytes: Int) throws -> (lines: [String], pages: Int) {
        var lines: [String] = []
        var cursor: ExportCursor?
        var pages = 0
        repeat {
            let page = try exportPage(after: cursor, since: since, until: until, maxBytes: maxBytes)
            pages += 1
            let text = String(decoding: page.ndjson, as: UTF8.self)
            XCTAssertTrue(text.isEmpty || text.hasSuffix("\n"), "a page ends with a complete line")
            lines += text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            if let next = page.next, let previous = cursor {
                XCTAssertNotEqual(next, previous, "export cursor must advance")
                if next == previous { break }
            }
            cursor = page.next
        } while cursor != nil && pages < 100_000
        return (lines, pages)
    }

    /// Runs one of the shard's completion-style calls from the test thread.
    func call<T>(_ body: @escaping (Shard, @escaping (Result<T, StorageError>) -> Void) -> Void,
                 file: StaticString = #filePath, line: UInt = #line) throws -> T {
        let shard = openShard
        let result: Result<T, StorageError>? = loopThread.await { done in body(shard) { done($0) } }
        return try XCTUnwrap(result, "shard call timed out", file: file, line: line).get()
    }

    var hintCounts: [String: Int] {
        get throws {
            let shard = openShard
            return try loopThread.sync { shard.hintCounts }
        }
    }

    var digests: [Int: PartitionDigest] {
        get throws {
            let shard = openShard
            return try loopThread.sync { shard.digests }
        }
    }

    var recordCount: Int {
        get throws {
            let shard = openShard
            return try loopThread.sync { shard.recordCount }
        }
    }

    func close() {
        guard let shard else { return }
        _ = loopThread.await { done in shard.close { done(()) } }
        self.shard = nil
    }

    func reopen() throws {
        close()
        try open()
    }

    /// Closes the shard, stops the loop thread and deletes the directory.
    func tearDown() {
        close()
        loopThread.stop()
        directory.remove()
    }
}

enum Fixture {
    /// A record from JSON text at an explicit server time.
    static func record(_ json: String, at time: Timestamp, partitionCount: Int = 16) -> PreparedRecord {
        do {
            return try Array(json.utf8).withUnsafeBytes { raw in
                try Result { () throws(JSONSyntaxError) in
                    try PreparedRecord(json: raw, serverTime: time, partitionCount: partitionCount)
                }.get()
            }
        } catch {
            fatalError("test fixture \(json) is not valid: \(error)")
        }
    }

    static let day = Timestamp.microsecondsPerDay
    static let hour = 3600 * Timestamp.microsecondsPerSecond

    /// 2026-01-01T00:00:00Z.
    static let baseTime = Timestamp(microseconds: 20_454 * day)

    static func time(day: Int64, hours: Int64 = 0, micros: Int64 = 0) -> Timestamp {
        Timestamp(microseconds: baseTime.microseconds + day * Fixture.day + hours * hour + micros)
    }
}

/// What the test knows about each generated record: the ground truth counts are computed from this.
struct GeneratedRecord {
    let record: PreparedRecord
    let major: String?
    let system: String?
    let release: String?
    let hostname: String?

    var serverTime: Timestamp { record.serverTime }

    func key(_ path: String) -> String? {
        switch path {
        case "python$version_info$0": major
        case "uname$system": system
        case "uname$release": release
        default: nil
        }
    }
}

enum RecordFactory {
    static let systems = ["Linux", "Darwin", "Windows", "line\nbreak \"quoted\""]

    /// `count` distinct profile-like records with times in `[start, start + span)`, some lacking
    /// `uname` or `python`, and some stamped exactly at midnight.
    static func generate(count: Int, start: Timestamp, spanDays: Int64, seed: UInt64) -> [GeneratedRecord] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { index in
            let offset: Int64
            if index % 97 == 0 {
                offset = Int64.random(in: 0..<spanDays, using: &random) * Fixture.day  // exactly midnight
            } else {
                offset = Int64.random(in: 0..<(spanDays * Fixture.day), using: &random)
            }
            let time = Timestamp(microseconds: start.microseconds + offset)
            let hasPython = Int.random(in: 0..<10, using: &random) != 0
            let hasUname = Int.random(in: 0..<8, using: &random) != 0
            let major = [2, 3, 3, 3][Int.random(in: 0..<4, using: &random)]
            let minor = Int.random(in: 0..<14, using: &random)
            let system = systems[Int.random(in: 0..<systems.count, using: &random)]
            let release = "6.\(Int.random(in: 0..<4, using: &random))"
            var members = [#""n":\#(index)"#]
            // Hosts report many times: 37 of them, and every eleventh record says none.
            let hostname = index % 11 == 0 ? nil : "host\(index % 37)"
            if let hostname { members.append(#""hostname":"\#(hostname)""#) }
            if hasPython {
                members.append(#""python":{"version_info":[\#(major), \#(minor), 1, "final", 0],"implementation":"CPython"}"#)
            }
            if hasUname {
                var systemJSON: [UInt8] = []
                JSONText.appendString(system, to: &systemJSON)
                members.append(#""uname" : {"system": \#(String(decoding: systemJSON, as: UTF8.self)), "release":"\#(release)"}"#)
            }
            let json = "{" + members.joined(separator: ", ") + "}"
            return GeneratedRecord(record: Fixture.record(json, at: time),
                                   major: hasPython ? String(major) : nil,
                                   system: hasUname ? system : nil,
                                   release: hasUname ? release : nil, hostname: hostname)
        }
    }

    /// The answer computed by brute force over the generated records.
    static func expected(_ records: [GeneratedRecord], groupBy path: String?, limit: Int? = nil,
                         since: Timestamp? = nil, until: Timestamp? = nil) -> CountResult {
        let query = CountQuery(since: since, until: until)
        var selected = records.filter { query.contains($0.serverTime) }
        if let limit {
            // Newest first; equal times by id, descending, as SQLite compares blobs (memcmp).
            selected.sort { a, b in
                a.serverTime != b.serverTime ? a.serverTime > b.serverTime
                    : b.record.id.bytes.lexicographicallyPrecedes(a.record.id.bytes)
            }
            selected = Array(selected.prefix(limit))
        }
        var result = CountResult(recordCount: selected.count)
        guard let path else { return result }
        for record in selected {
            if let key = record.key(path) { result.counts[key, default: 0] += 1 } else { result.missingCount += 1 }
        }
        return result
    }
}
