/// Where an export left off: the last record sent, in `(server_time, id)` order.
public struct ExportCursor: Sendable, Hashable {
    public let serverTime: Int64
    public let id: [UInt8]

    public init(serverTime: Int64, id: [UInt8]) {
        self.serverTime = serverTime
        self.id = id
    }
}
