import EspyCore

/// A paged query (`GET /v1/download/import` across the cluster): every record of the planned
/// partitions exactly once, in pages, one read at a time, the next asked for only when the
/// consumer took the last, so memory stays flat however much is exported.
///
/// Pages of a read are in `(server_time, id)` order over its partitions, so a cursor says what
/// was delivered: when a node fails mid-way, or declines some partitions, those partitions move
/// to other replicas from the same cursor, and no record is delivered twice or skipped.
extension ScatterGather {
    /// One read still to do: some partitions of a sub-request, from a cursor on. A re-planned
    /// sub-request can need two, when its partitions come from a read that had started and from
    /// one that had not.
    public struct PageRead: Hashable, Sendable {
        public let subRequestID: Int
        public let node: MemberName
        public internal(set) var partitions: [Int]
        /// Records up to this one were delivered; nil reads from the start.
        public internal(set) var cursor: ExportCursor?
    }

    public enum PageAction: Hashable, Sendable {
        /// Read this page; report how it went with `pageAnswered` or `pageFailed`.
        case read(PageRead)
        /// Every read is done or given up on; `plan.missingPartitions` says what could not be read.
        case finish
    }

    public init(pagedPlan plan: QueryPlan) {
        self.init(plan: plan)
        pageReads = plan.initialSubRequests.map { PageRead(subRequestID: $0.id, node: $0.node, partitions: $0.partitions, cursor: nil) }
    }

    /// The consumer took the last page and wants the next.
    public mutating func nextPage() -> PageAction {
        precondition(pageInFlight == nil, "a paged query reads one page at a time")
        guard let read = pageReads.first else {
            isFinished = true
            return .finish
        }
        pageInFlight = read
        return .read(read)
    }

    /// The page read answered. Its node declined `declined` of the read's partitions (they move to
    /// their next replica from the read's cursor); `next` is where the read's following page
    /// starts, nil when the read is complete.
    public mutating func pageAnswered(declined: [Int] = [], next: ExportCursor?) {
        guard let read = pageInFlight else { return }
        pageInFlight = nil
        if !declined.isEmpty { move(declined, of: read) }
        if let next, !pageReads[0].partitions.isEmpty {
            pageReads[0].cursor = next
            return
        }
        pageReads.removeFirst()
        if !pageReads.contains(where: { $0.subRequestID == read.subRequestID }) { _ = plan.onAnswer(of: read.subRequestID) }
    }

    /// The page read got no usable answer, or (`refused`) its node judged it bad. Every read of
    /// that node moves to other replicas, each partition keeping the cursor it had.
    public mutating func pageFailed(refused: Bool = false) {
        guard let read = pageInFlight else { return }
        pageInFlight = nil
        var cursorOf: [Int: ExportCursor?] = [:]
        for other in pageReads where other.node == read.node {
            for partition in other.partitions { cursorOf[partition] = other.cursor }
        }
        pageReads.removeAll { $0.node == read.node }
        let moved = refused ? plan.replan(afterRefusalBy: read.node) : plan.replan(afterFailureOf: read.node)
        for subRequest in moved {
            let byCursor: [ExportCursor?: [Int]] = Dictionary(grouping: subRequest.partitions) { cursorOf[$0] ?? nil }
            for cursor in byCursor.keys.sorted(by: { ($0?.serverTime ?? Int64.min) < ($1?.serverTime ?? Int64.min) }) {
                pageReads.append(PageRead(subRequestID: subRequest.id, node: subRequest.node, partitions: byCursor[cursor]!, cursor: cursor))
            }
        }
    }

    private mutating func move(_ declined: [Int], of read: PageRead) {
        let declinedSet = Set(declined)
        for index in pageReads.indices where pageReads[index].subRequestID == read.subRequestID {
            pageReads[index].partitions.removeAll { declinedSet.contains($0) }
        }
        for subRequest in plan.decline(declined, in: read.subRequestID) {
            pageReads.append(PageRead(subRequestID: subRequest.id, node: subRequest.node, partitions: subRequest.partitions,
                                      cursor: read.cursor))
        }
    }
}
