import EspyCluster
import EspyCore

/// The JSON of `GET /v1/cluster/members`: this node's view of every member, and counts per
/// datacenter and status so an operator sees at a glance what each datacenter looks like.
enum MembersResponse {
    static func body(selfName: String, members: [Member]) -> [UInt8] {
        var answer = JSONObject()
        answer.add("self", selfName)
        answer.add("members", array: members.sorted { $0.name < $1.name }.map { member in
            var item = JSONObject()
            item.add("name", member.name.rawValue)
            item.add("address", member.gossipAddress)
            item.add("datacenter", member.datacenter.rawValue)
            item.add("http", member.address)
            item.add("status", member.status.rawValue)
            item.add("incarnation", Int(member.incarnation))
            var tags = JSONObject()
            for (key, value) in member.tags.sorted(by: { $0.key < $1.key }) { tags.add(key, value) }
            item.add("tags", object: tags)
            item.add("since", member.since.description)
            return item
        })
        var datacenters = JSONObject()
        for (datacenter, counts) in members.countsByDatacenter.sorted(by: { $0.key < $1.key }) {
            var row = JSONObject()
            for status in MemberStatus.allCases { row.add(status.rawValue, counts[status] ?? 0) }
            datacenters.add(datacenter.rawValue, object: row)
        }
        answer.add("datacenters", object: datacenters)
        // Members per build version (the `version` tag): more than one key is a mixed cluster.
        var versions = JSONObject()
        let byVersion = Dictionary(grouping: members.filter { $0.status == .alive }, by: { $0.tags["version"] ?? "unknown" })
        for (version, holders) in byVersion.sorted(by: { $0.key < $1.key }) { versions.add(version, holders.count) }
        answer.add("versions", object: versions)
        return answer.body()
    }
}
