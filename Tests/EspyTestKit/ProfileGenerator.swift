import EspyTestRandom

/// Deterministic Python environment profiles shaped like the original collector's, for tests
/// that need many realistic records and the ground truth about them.
public struct ProfileGenerator {
    private var random: SplitMix64

    public init(seed: UInt64) { random = SplitMix64(seed: seed &* 6364136223846793005 &+ 1442695040888963407) }

    public mutating func next(below bound: Int) -> Int {
        Int(random.next() % UInt64(bound))
    }

    public struct Profile {
        public let uuid: String
        public let major: Int
        public let minor: Int
        public let system: String
        public let machine: String
        public let release: String
        public let json: String
    }

    public static let versions = [(2, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]
    public static let systems = ["Linux", "Darwin", "Windows"]
    public static let machines = ["x86_64", "aarch64", "arm64"]

    /// `count` profiles of one seed, indices from 0.
    public static func profiles(_ count: Int, seed: UInt64) -> [Profile] {
        var generator = ProfileGenerator(seed: seed)
        return (0..<count).map { generator.profile(index: $0) }
    }

    public mutating func profile(index: Int) -> Profile {
        let (major, minor) = ProfileGenerator.versions[next(below: ProfileGenerator.versions.count)]
        let system = ProfileGenerator.systems[next(below: ProfileGenerator.systems.count)]
        let machine = ProfileGenerator.machines[next(below: ProfileGenerator.machines.count)]
        let release = "6.\(next(below: 12)).\(next(below: 30))"
        let uuid = "rec-\(index)-\(next(below: 1_000_000_000))"
        let json = #"{"username":"user\#(next(below: 500))","uuid":"\#(uuid)","hostname":"host\#(next(below: 2000))","# +
            #""uname":{"system":"\#(system)","node":"n","release":"\#(release)","version":"1 SMP","machine":"\#(machine)","processor":""},"# +
            #""linux_dist":{"name":"debian","version":"12"},"time":{"utc":"2026-11-29 10:00:00","std_utc_offset":0},"# +
            #""python":{"argv":"app.py","bin":"/usr/bin/python3","is_64bit":true,"version":"\#(major).\#(minor).1","# +
            #""version_info":[\#(major),\#(minor),1,"final",0],"implementation":"CPython","openssl_version":"OpenSSL 3.0.15","# +
            #""sqlite_version":"3.40.1","have_ucs4":true,"have_readline":true}}"#
        return Profile(uuid: uuid, major: major, minor: minor, system: system, machine: machine, release: release, json: json)
    }
}
