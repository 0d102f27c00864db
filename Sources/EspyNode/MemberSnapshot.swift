import EspyCluster
import EspyCore
import EspyLoop
import Foundation

/// The data members this node last knew, kept in its data directory as Serf's `-snapshot` keeps
/// them: a restarted node rejoins them whether or not seeds are configured, places writes as
/// the cluster does before gossip has answered, and does not take itself for a cluster of one.
/// A graceful leave deletes it; a node that has never been in a cluster has none.
struct MemberSnapshot {
    let path: String

    init(dataDirectory: String) { path = dataDirectory + "/members.json" }

    /// The members saved last; empty when there is no snapshot. An unreadable snapshot is an
    /// error: starting as if alone would answer stale counts as complete.
    func load(now: Timestamp) throws -> [Member] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let entries = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["members"] as? [[String: Any]] else {
                throw ConfigError(key: "node.data_dir", "'\(path)' is not a member snapshot; delete it to start without one")
            }
            return entries.compactMap { entry in
                guard let name = entry["name"] as? String, let gossip = entry["gossip"] as? String,
                      let tags = entry["tags"] as? [String: String] else { return nil }
                // Not heard from yet: written to (a write may reach it) but not read from.
                return Member(name: name, gossipAddress: gossip, tags: tags, status: .suspect, incarnation: 0, since: now)
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(key: "node.data_dir", "cannot read the member snapshot '\(path)': \(error.localizedDescription)")
        }
    }

    /// Saves `members` on the thread pool (write, then rename, so a crash leaves the old one).
    func save(_ members: [Member], on loop: EventLoop, completion: @escaping (String?) -> Void) {
        var list: [JSONObject] = []
        for member in members.sorted(by: { $0.name < $1.name }) {
            var entry = JSONObject()
            entry.add("name", member.name.description)
            entry.add("gossip", member.gossipAddress)
            var tags = JSONObject()
            for (key, value) in member.tags.sorted(by: { $0.key < $1.key }) { tags.add(key, value) }
            entry.add("tags", object: tags)
            list.append(entry)
        }
        var root = JSONObject()
        root.add("members", array: list)
        let body = root.body()
        let path = path
        loop.runBlocking({ () -> String? in
            let temporary = path + ".tmp"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(body)),
                  rename(temporary, path) == 0 else { return "cannot write '\(path)': \(String(cString: strerror(errno)))" }
            return nil
        }, completion: completion)
    }

    /// Forgets the cluster: after a graceful leave the next start is a new join.
    func delete() { unlink(path) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
