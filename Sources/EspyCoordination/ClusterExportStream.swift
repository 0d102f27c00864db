import EspyAPI
import EspyCluster
import EspyCore
import EspyHTTP
import EspyStorage

/// `GET /v1/download/import` across the cluster: every record exactly once. Each partition is
/// read from one live replica; the sub-requests run one after another, page by page, each page
/// asked for only when the client took the previous one, so memory stays flat.
///
/// If a node fails mid-way, its partitions move to other replicas with the same cursor: records
/// of those partitions up to the cursor were already sent (pages are in `(server_time, id)`
/// order over the sub-request's partitions), and none after it.
final class ClusterExportStream: ResponseBodyStream {
    private let coordinator: ClusterCoordinator
    private let since: Timestamp?
    private let until: Timestamp?
    private let allowPartial: Bool
    private var plan: QueryPlan
    private var queue: [(subRequest: QueryPlan.SubRequest, cursor: ExportCursor?)]
    private var isCancelled = false

    init(coordinator: ClusterCoordinator, since: Timestamp?, until: Timestamp?, allowPartial: Bool) {
        self.coordinator = coordinator
        self.since = since
        self.until = until
        self.allowPartial = allowPartial
        plan = QueryPlan(partitions: Array(0..<coordinator.partitionCount), map: coordinator.map, view: coordinator.view,
                         selfName: coordinator.selfName, routable: coordinator.routable)
        queue = plan.initialSubRequests.map { ($0, nil) }
    }

    func nextChunk(_ deliver: @escaping (Result<[UInt8]?, Error>) -> Void) {
        guard !isCancelled, let (subRequest, cursor) = queue.first else {
            if !plan.missingPartitions.isEmpty, !allowPartial, !isCancelled {
                // Headers are long gone; ending the stream without its last chunk tells the client
                // the download is incomplete, which a silently short file would not.
                return deliver(.failure(ExportIncomplete(missing: plan.missingPartitions.count)))
            }
            return deliver(.success(nil))
        }
        page(of: subRequest, after: cursor) { [self] result in
            guard !isCancelled else { return }
            switch result {
            case .some(let (bytes, next)):
                if let next {
                    queue[0].cursor = next
                } else {
                    queue.removeFirst()
                    _ = plan.onAnswer(of: subRequest.id)
                }
                if bytes.isEmpty { nextChunk(deliver) } else { deliver(.success(bytes)) }
            case .none:
                queue.removeFirst()
                queue.append(contentsOf: plan.replan(afterFailureOf: subRequest.node).map { ($0, cursor) })
                nextChunk(deliver)
            }
        }
    }

    private func page(of subRequest: QueryPlan.SubRequest, after cursor: ExportCursor?,
                      completion: @escaping (([UInt8], ExportCursor?)?) -> Void) {
        if subRequest.node == coordinator.selfName {
            coordinator.shard.exportPage(after: cursor, since: since, until: until, partitions: subRequest.partitions) { result in
                completion((try? result.get()).map { ($0.ndjson, $0.next) })
            }
            return
        }
        guard let address = coordinator.httpAddresses[subRequest.node] else { return completion(nil) }
        let query = CountQuery(since: since, until: until)
        var target = "/internal/v1/export?" + ClusterCoordinator.parameters(query, partitions: subRequest.partitions)
        if let cursor { target += "&cursor=" + HTTPRequest.percentEncoded(InternalWire.cursorText(cursor)) }
        coordinator.client.request(.get, target, to: address) { result in
            guard case .success(let response) = result, response.status == 200 else { return completion(nil) }
            completion((response.body, response.headers["x-espy-next-cursor"].flatMap(InternalWire.parseCursor)))
        }
    }

    func cancel() { isCancelled = true }
}

struct ExportIncomplete: Error, CustomStringConvertible {
    let missing: Int
    var description: String { "\(missing) partitions have no answering replica" }
}
