import EspyAPI
import EspyCluster
import EspyCore
import EspyHTTP
import EspyStorage
import EspyWire

/// `GET /v1/download/import` across the cluster: every record exactly once. Each partition is
/// read from one live replica; the sub-requests run one after another, page by page, each page
/// asked for only when the client took the previous one, so memory stays flat.
///
/// If a node fails mid-way, its partitions move to other replicas with the same cursor: records
/// of those partitions up to the cursor were already sent (pages are in `(server_time, id)`
/// order over the sub-request's partitions), and none after it.
final class ClusterExportStream: ResponseBodyStream {
    /// One export read still to do: some partitions of a sub-request, from a cursor on. A
    /// replanned sub-request may need two of these, when its partitions come from a read that
    /// had started (with a cursor) and from one that had not.
    private struct Read {
        let subRequestID: Int
        let node: MemberName
        let partitions: [Int]
        var cursor: ExportCursor?
    }

    private let coordinator: ClusterCoordinator
    private let since: Timestamp?
    private let until: Timestamp?
    private let allowPartial: Bool
    private var plan: QueryPlan
    private var queue: [Read]
    /// With `read_consistency = "verified"`, until the first page: the plan is replaced by one
    /// that reads only verified replicas.
    private var awaitingVerification: Bool
    private var isCancelled = false
    /// Nodes whose last failed read was a 4xx, until their reads are re-planned.
    private var refusedBy: Set<MemberName> = []

    init(coordinator: ClusterCoordinator, since: Timestamp?, until: Timestamp?, verified: Bool, allowPartial: Bool) {
        self.coordinator = coordinator
        self.since = since
        self.until = until
        self.allowPartial = allowPartial
        awaitingVerification = verified
        plan = coordinator.queryPlan()
        queue = Self.reads(of: plan)
    }

    private static func reads(of plan: QueryPlan) -> [Read] {
        plan.initialSubRequests.map { Read(subRequestID: $0.id, node: $0.node, partitions: $0.partitions, cursor: nil) }
    }

    func nextChunk(_ deliver: @escaping (Result<[UInt8]?, Error>) -> Void) {
        if awaitingVerification {
            return coordinator.verifiedPlan { [self] verified, _ in
                guard !isCancelled else { return }
                awaitingVerification = false
                plan = verified
                queue = Self.reads(of: verified)
                nextChunk(deliver)
            }
        }
        guard !isCancelled, let read = queue.first else {
            if !plan.missingPartitions.isEmpty, !allowPartial, !isCancelled {
                // Headers are long gone; ending the stream without its last chunk tells the client
                // the download is incomplete, which a silently short file would not.
                return deliver(.failure(ExportIncomplete(missing: plan.missingPartitions.count)))
            }
            return deliver(.success(nil))
        }
        page(of: read) { [self] result in
            guard !isCancelled else { return }
            switch result {
            case .some(let (bytes, next, unavailable)):
                if !unavailable.isEmpty { moveDeclined(unavailable, of: read) }
                if let next {
                    queue[0].cursor = next
                } else {
                    queue.removeFirst()
                    if !queue.contains(where: { $0.subRequestID == read.subRequestID }) { _ = plan.onAnswer(of: read.subRequestID) }
                }
                if bytes.isEmpty { nextChunk(deliver) } else { deliver(.success(bytes)) }
            case .none:
                replan(after: read.node)
                nextChunk(deliver)
            }
        }
    }

    /// Moves the failed node's reads to other replicas, each partition keeping the cursor it had:
    /// records up to it were sent, none after it.
    /// The node failed the read, or refused it as bad (then it is reported as refusing, not failed).
    private func replan(after node: MemberName) {
        var cursorOf: [Int: ExportCursor?] = [:]
        for read in queue where read.node == node {
            for partition in read.partitions { cursorOf[partition] = read.cursor }
        }
        queue.removeAll { $0.node == node }
        let moved = refusedBy.remove(node) == nil ? plan.replan(afterFailureOf: node) : plan.replan(afterRefusalBy: node)
        for subRequest in moved {
            let byCursor = Dictionary(grouping: subRequest.partitions) { cursorOf[$0] ?? nil }
            for (cursor, partitions) in byCursor.sorted(by: { ($0.key?.serverTime ?? .min) < ($1.key?.serverTime ?? .min) }) {
                queue.append(Read(subRequestID: subRequest.id, node: subRequest.node, partitions: partitions, cursor: cursor))
            }
        }
    }

    /// The node declined some of the read's partitions (not readable there): the read goes on
    /// without them, and they move to another replica from the same cursor, since every page so
    /// far covered them up to it.
    private func moveDeclined(_ partitions: [Int], of read: Read) {
        let declined = Set(partitions)
        coordinator.remember(declined: partitions, by: read.node)
        for index in queue.indices where queue[index].subRequestID == read.subRequestID {
            queue[index] = Read(subRequestID: read.subRequestID, node: read.node,
                                partitions: queue[index].partitions.filter { !declined.contains($0) }, cursor: queue[index].cursor)
        }
        for subRequest in plan.decline(partitions, in: read.subRequestID) {
            queue.append(Read(subRequestID: subRequest.id, node: subRequest.node, partitions: subRequest.partitions, cursor: read.cursor))
        }
    }

    private func page(of read: Read, completion: @escaping (([UInt8], ExportCursor?, unavailable: [Int])?) -> Void) {
        if read.node == coordinator.selfName {
            let (partitions, unavailable) = coordinator.readable(read.partitions)
            coordinator.shard.exportPage(after: read.cursor, since: since, until: until, partitions: partitions) { result in
                completion((try? result.get()).map { ($0.ndjson, $0.next, unavailable) })
            }
            return
        }
        guard let address = coordinator.httpAddresses[read.node] else { return completion(nil) }
        let query = CountQuery(since: since, until: until)
        var parameters = InternalWire.countForm(query, partitions: read.partitions)
        if let cursor = read.cursor { parameters += "&cursor=" + HTTPRequest.percentEncoded(InternalWire.cursorText(cursor)) }
        coordinator.client.request(.post, "/internal/v1/export", to: address, headers: ClusterCoordinator.formHeaders,
                                   body: Array(parameters.utf8)) { [coordinator] result in
            guard case .success(let response) = result, response.status == 200,
                  let unavailable = coordinator.declined(in: response) else {
                if case .success(let response) = result, (400..<500).contains(response.status) {
                    coordinator.refused(response, by: read.node)
                    self.refusedBy.insert(read.node)
                }
                return completion(nil)
            }
            completion((response.body, response.headers["x-espy-next-cursor"].flatMap(InternalWire.parseCursor), unavailable))
        }
    }

    func cancel() { isCancelled = true }
}

struct ExportIncomplete: Error, CustomStringConvertible {
    let missing: Int
    var description: String { "\(missing) partitions have no answering replica" }
}
