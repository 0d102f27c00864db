import EspyTestKit
import EspyTestRandom
import Foundation
import XCTest

/// Several `group_by` paths, `where` / `where_not`, `top` and `order` on a real 6-node,
/// 3-datacenter cluster: every node's rows equal the truth computed here from the records.
final class CompositeCountTests: XCTestCase {
    private var cluster: ClusterHarness!

    override func setUp() { cluster = ClusterHarness() }

    override func tearDown() {
        cluster.tearDown(failed: (testRun?.failureCount ?? 0) > 0)
    }

    /// A path, how the test reads its value from a generated profile, and the values it takes.
    private struct Dimension {
        let path: String
        let value: (ProfileGenerator.Profile) -> String?
        let values: [String]
    }

    private let dimensions = [
        Dimension(path: "python.version_info.0", value: { String($0.major) }, values: ["2", "3"]),
        Dimension(path: "python$version_info$1", value: { String($0.minor) }, values: ["7", "8", "9", "10", "11", "12", "13"]),
        Dimension(path: "uname.system", value: { $0.system }, values: ProfileGenerator.systems),
        Dimension(path: "uname.machine", value: { $0.machine }, values: ProfileGenerator.machines),
        Dimension(path: "linux_dist.codename", value: { _ in nil }, values: []),
    ]

    private typealias Row = (key: [String], count: Int)

    /// The rows every node must answer, largest first then by key, as JSON gives them back.
    private func truth(_ profiles: ArraySlice<ProfileGenerator.Profile>, groupBy: [Dimension],
                       where conditions: [(Dimension, Set<String>)], whereNot exclusions: [(Dimension, Set<String>)]) -> [Row] {
        var counts: [[String]: Int] = [:]
        for profile in profiles {
            guard conditions.allSatisfy({ $0.1.contains($0.0.value(profile) ?? "(missing)") }),
                  exclusions.allSatisfy({ !$0.1.contains($0.0.value(profile) ?? "(missing)") }) else { continue }
            counts[groupBy.map { $0.value(profile) ?? "(missing)" }, default: 0] += 1
        }
        return counts.map { (key: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.key.lexicographicallyPrecedes($1.key) }
    }

    private func rows(_ answer: [String: Any], paths: [String]) -> [Row] {
        ((answer["rows"] as? [[String: Any]]) ?? []).map { row in
            let key = row["key"] as? [String: String] ?? [:]
            return (key: paths.map { key[$0] ?? "?" }, count: row["count"] as? Int ?? -1)
        }
    }

    func testRandomQuestionsAreAnsweredExactly_andAlike_byEveryNode() throws {
        let names = ["n1", "n2", "n3", "n4", "n5", "n6"]
        try cluster.startCluster(names)
        let profiles = ProfileGenerator.profiles(12_000, seed: 81)
        try cluster.ingest(profiles[...], through: "n2", batch: 2_000)
        // A batch is acknowledged at its quorum; its third copies may still be landing, and a
        // count reads one replica (the window docs/operations.md describes).
        XCTAssertTrue(cluster.waitUntil(30) { cluster.convergenceProblems(records: profiles.count).isEmpty })

        var random = SplitMix64(seed: 82)
        func pick<T>(_ items: [T], _ count: Int) -> [T] {
            var pool = items, chosen: [T] = []
            while chosen.count < count, !pool.isEmpty { chosen.append(pool.remove(at: Int(random.next() % UInt64(pool.count)))) }
            return chosen
        }
        for round in 0..<12 {
            let groupBy = pick(dimensions, 1 + Int(random.next() % 3))
            let filtered = pick(dimensions.filter { !$0.values.isEmpty }, Int(random.next() % 3))
            var conditions: [(Dimension, Set<String>)] = []
            var exclusions: [(Dimension, Set<String>)] = []
            var query = groupBy.map { "group_by=" + $0.path }
            for (index, dimension) in filtered.enumerated() {
                let values = Set(pick(dimension.values, 1 + Int(random.next() % 2)))
                let name = index == 0 ? "where" : "where_not"
                if index == 0 { conditions.append((dimension, values)) } else { exclusions.append((dimension, values)) }
                query += values.sorted().map { "\(name)=\(dimension.path):\($0)" }
            }
            let expected = truth(profiles[...], groupBy: groupBy, where: conditions, whereNot: exclusions)
            let text = query.joined(separator: "&").addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!
            var first: String?
            for name in names {
                let (status, answer) = try cluster.count(at: name, text)
                XCTAssertEqual(status, 200, "round \(round) at \(name): \(answer)")
                let got = rows(answer, paths: groupBy.map(\.path))
                XCTAssertEqual(got.map(\.key), expected.map(\.key), "round \(round) \(query) at \(name)")
                XCTAssertEqual(got.map(\.count), expected.map(\.count), "round \(round) \(query) at \(name)")
                XCTAssertEqual(answer["total"] as? Int, expected.reduce(0) { $0 + $1.count }, "round \(round) at \(name)")
                let percents = (answer["rows"] as? [[String: Any]] ?? []).map { "\($0["percent"] ?? "-")" }
                let rowsText = zip(got, percents).map { "\($0.key) \($0.count) \($1)" }.joined(separator: "; ")
                if let first { XCTAssertEqual(rowsText, first, "round \(round): \(name) answered differently") } else { first = rowsText }
            }
        }

        // The trend view: records with kept server times over three weeks of January 2026, where
        // 2026-01-01 (a Thursday) falls in the ISO week that starts on 2025-12-29.
        var history: [(day: Int, system: String)] = []
        for index in 0..<3_000 { history.append((1 + index % 21, ProfileGenerator.systems[index % 3])) }
        let lines = history.enumerated().map { index, record in
            #"{"n":\#(index),"uname":{"system":"\#(record.system)"},"server_time":"2026-01-\#(String(format: "%02d", record.day)) 12:00:00.000000"}"#
        }
        XCTAssertEqual(try cluster["n3"].request("POST", "/v1/import?keep_server_time=true", body: Array(lines.joined(separator: "\n").utf8)).status, 200)
        XCTAssertTrue(cluster.waitUntil(30) { cluster.convergenceProblems(records: profiles.count + history.count).isEmpty })
        func week(_ day: Int) -> String { ["2025-12-29", "2026-01-05", "2026-01-12", "2026-01-19"][(day + 2) / 7] }  // Jan 5 is a Monday
        let linux = history.filter { $0.system != "Windows" }
        let expectedWeeks = Dictionary(grouping: linux, by: { week($0.day) + " " + $0.system }).mapValues(\.count)
        for name in ["n1", "n6"] {
            let (status, trend) = try cluster.count(at: name, "since=2026-01-01&until=2026-02-01&bucket=week&group_by=uname.system&where_not=uname.system:Windows")
            XCTAssertEqual(status, 200, "\(trend)")
            let rows = trend["rows"] as? [[String: Any]] ?? []
            var got: [String: Int] = [:]
            for row in rows { got["\(row["bucket"] ?? "?") \((row["key"] as? [String: String])?["uname.system"] ?? "?")"] = row["count"] as? Int }
            XCTAssertEqual(got, expectedWeeks, "at \(name)")
            let buckets = rows.compactMap { $0["bucket"] as? String }
            XCTAssertEqual(buckets, buckets.sorted(), "oldest week first")
            XCTAssertEqual(trend["total"] as? Int, linux.count)
            XCTAssertEqual(trend["counts"] as? [String: Int], Dictionary(grouping: linux, by: \.system).mapValues(\.count),
                           "the seed's counts map sums the buckets")
        }

        // Distinct hosts per system among Python 3 records: exact at this size (each node's
        // share is merged as sets), the same at every node.
        func hostname(_ profile: ProfileGenerator.Profile) -> String {
            let start = profile.json.range(of: #""hostname":""#)!.upperBound
            return String(profile.json[start...].prefix { $0 != "\"" })
        }
        let python3 = profiles.filter { $0.major == 3 }
        let expectedHosts = Dictionary(grouping: python3, by: \.system).mapValues { Set($0.map(hostname)).count }
        for name in ["n2", "n5"] {
            let (status, hosts) = try cluster.count(at: name, "group_by=uname.system&where=python.version_info.0:3&distinct=hostname")
            XCTAssertEqual(status, 200, "\(hosts)")
            var got: [String: Int] = [:]
            for row in hosts["rows"] as? [[String: Any]] ?? [] {
                got[(row["key"] as? [String: String])?["uname.system"] ?? "?"] = row["distinct"] as? Int
            }
            XCTAssertEqual(got, expectedHosts, "at \(name)")
            XCTAssertEqual((hosts["distinct_error"] as? NSNumber)?.doubleValue, 0, "exact counts say so")
            XCTAssertEqual(hosts["distinct_of"] as? String, "hostname")
        }
        // 12,000 distinct uuids: beyond the exact limit once the nodes' shares are merged.
        let (_, uuids) = try cluster.count(at: "n4", "distinct=uuid")
        let estimate = ((uuids["rows"] as? [[String: Any]])?.first?["distinct"] as? Int) ?? 0
        XCTAssertEqual(Double(estimate), 12_000, accuracy: 12_000 * 0.03, "\(uuids)")
        XCTAssertEqual((uuids["distinct_error"] as? NSNumber)?.doubleValue, 0.01)

        // Batches get one server_time each, later batches later: the newest 2,000 are the last
        // batch, picked across nodes with the records the filter leaves out still in the running.
        let lastBatch = profiles[10_000...].filter { $0.system == "Linux" }
        for name in names {
            let (_, newest) = try cluster.count(at: name, "limit=2000&where=uname.system:Linux&group_by=uname.machine")
            XCTAssertEqual(newest["total"] as? Int, lastBatch.count, "at \(name): \(newest)")
            XCTAssertEqual(newest["counts"] as? [String: Int], Dictionary(grouping: lastBatch, by: \.machine).mapValues(\.count), "at \(name)")
        }
    }

    func testTopAddsAnOtherRow_orderVersionSortsMinorVersions_andBadParametersAreNamed() throws {
        try cluster.startCluster(["n1", "n2", "n3"])
        let profiles = ProfileGenerator.profiles(6_000, seed: 83)
        try cluster.ingest(profiles[...], through: "n1", batch: 2_000)
        XCTAssertTrue(cluster.waitUntil(30) { cluster.convergenceProblems(records: profiles.count).isEmpty })

        let (_, topped) = try cluster.count(at: "n2", "group_by=python$version_info$1&top=3")
        let rows = try XCTUnwrap(topped["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows.last?["key"] as? String, "(other)")
        XCTAssertEqual(rows.reduce(0) { $0 + ($1["count"] as? Int ?? 0) }, 6_000)
        let percents = rows.map { ($0["percent"] as? NSNumber)?.doubleValue ?? -1 }
        XCTAssertEqual(percents.reduce(0, +), 100, accuracy: 0.05)
        XCTAssertEqual((topped["counts"] as? [String: Int])?.count, 7, "the seed's counts map keeps every key")

        let (_, ordered) = try cluster.count(at: "n3", "group_by=python.version_info.1&order=version")
        let minors = (ordered["rows"] as? [[String: Any]] ?? []).compactMap { ($0["key"] as? [String: String])?["python.version_info.1"] }
        XCTAssertEqual(minors, ["7", "8", "9", "10", "11", "12", "13"])

        for (query, parameter) in [("top=0", "top"), ("order=size", "order"), ("where=nocolon", "where"),
                                   ("group_by=a&group_by=b&group_by=c&group_by=d&group_by=e", "group_by")] {
            let (status, answer) = try cluster.count(at: "n1", query)
            XCTAssertEqual(status, 400, query)
            XCTAssertTrue((answer["error"] as? String ?? "").contains("'\(parameter)'"), "\(query): \(answer)")
        }
    }
}
