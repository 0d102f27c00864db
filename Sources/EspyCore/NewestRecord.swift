/// One record of a node's newest N, as a cluster coordinator needs it to pick the global newest
/// N: no body, just its order and what it groups under.
public struct NewestRecord: Sendable, Equatable {
    public let serverTime: Timestamp
    public let id: RecordID
    /// nil without a group-by; `.some(nil)` when the record lacks the grouped path.
    public let groupingKey: String??
    /// False when a composite query's filters exclude it: it is among the newest, not counted.
    public let admitted: Bool

    public init(serverTime: Timestamp, id: RecordID, groupingKey: String??, admitted: Bool = true) {
        self.serverTime = serverTime
        self.id = id
        self.groupingKey = groupingKey
        self.admitted = admitted
    }
}
