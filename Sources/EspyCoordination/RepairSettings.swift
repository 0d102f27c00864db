/// Config `[repair]`: how hard replicas work at agreeing with each other.
public struct RepairSettings: Sendable, Equatable {
    /// A full anti-entropy pass over every partition this often; one also follows each map
    /// change, and passes repeat within seconds while a partition is catching up or handed off.
    public var intervalMilliseconds: UInt64 = 60_000
    /// Records moved per second by repair (pulled plus pushed), so that it never starves
    /// client requests of the loop, the disk or the network.
    public var maxRecordsPerSecond = 20_000
    /// Records at most per pull or push request.
    public var batchSize = 1_000
    /// Hints for a replica older than this are dropped; anti-entropy covers what they carried.
    public var hintWindowMilliseconds: UInt64 = 3 * 60 * 60 * 1_000
    /// A graceful leave waits at most this long for its partitions to be handed off; the
    /// node stops then anyway, and anti-entropy among the others covers what was not pushed.
    public var leaveTimeoutMilliseconds: UInt64 = 10 * 60 * 1_000

    public init() {}
}
