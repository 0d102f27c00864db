/// One member's copy of one partition. Names a replica that exists in the map but must not be
/// read yet, because it gained the partition recently and has not caught up (see repair).
public struct PartitionReplica: Hashable, Sendable {
    public let partition: Int
    public let member: MemberName

    public init(partition: Int, member: MemberName) {
        self.partition = partition
        self.member = member
    }
}
