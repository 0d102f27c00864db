import EspyAPI
import EspyCluster
import EspyCore
import EspyHTTP
import EspyStorage
import EspyWire

/// `GET /v1/download/import` across the cluster: the shell of a paged `ScatterGather`, which
/// decides which page to read next, from where, and what moves when a read fails or declines.
final class ClusterExportStream: ResponseBodyStream {
    private typealias Driver = ScatterGather<Never>

    private let coordinator: ClusterCoordinator
    private let since: Timestamp?
    private let until: Timestamp?
    private let allowPartial: Bool
    private var driver: Driver
    /// With `read_consistency = "verified"`, until the first page: the driver is replaced by one
    /// whose plan reads only verified replicas.
    private var awaitingVerification: Bool
    private var isCancelled = false

    init(coordinator: ClusterCoordinator, since: Timestamp?, until: Timestamp?, verified: Bool, allowPartial: Bool) {
        self.coordinator = coordinator
        self.since = since
        self.until = until
        self.allowPartial = allowPartial
        awaitingVerification = verified
        driver = Driver(pagedPlan: coordinator.queryPlan())
    }

    func nextChunk(_ deliver: @escaping (Result<[UInt8]?, Error>) -> Void) {
        if awaitingVerification {
            return coordinator.verifiedPlan { [self] verified, _ in
                guard !isCancelled else { return }
                awaitingVerification = false
                driver = Driver(pagedPlan: verified)
                nextChunk(deliver)
            }
        }
        guard !isCancelled else { return deliver(.success(nil)) }
        guard case .read(let read) = driver.nextPage() else {
            if !driver.plan.missingPartitions.isEmpty, !allowPartial {
                // Headers are long gone; ending the stream without its last chunk tells the client
                // the download is incomplete, which a silently short file would not.
                return deliver(.failure(ExportIncomplete(missing: driver.plan.missingPartitions.count)))
            }
            return deliver(.success(nil))
        }
        page(of: read) { [self] answer in
            guard !isCancelled else { return }
            switch answer {
            case .answered(let bytes, let next, let unavailable):
                if !unavailable.isEmpty { coordinator.remember(declined: unavailable, by: read.node) }
                driver.pageAnswered(declined: unavailable, next: next)
                if bytes.isEmpty { nextChunk(deliver) } else { deliver(.success(bytes)) }
            case .failed:
                driver.pageFailed()
                nextChunk(deliver)
            case .refused:
                driver.pageFailed(refused: true)
                nextChunk(deliver)
            }
        }
    }

    private enum PageAnswer {
        case answered([UInt8], next: ExportCursor?, unavailable: [Int])
        case failed
        /// A 4xx: the node judged the read bad.
        case refused
    }

    private func page(of read: Driver.PageRead, completion: @escaping (PageAnswer) -> Void) {
        if read.node == coordinator.selfName {
            let (partitions, unavailable) = coordinator.readable(read.partitions)
            coordinator.shard.exportPage(after: read.cursor, since: since, until: until, partitions: partitions) { result in
                completion((try? result.get()).map { .answered($0.ndjson, next: $0.next, unavailable: unavailable) } ?? .failed)
            }
            return
        }
        guard let address = coordinator.httpAddresses[read.node] else { return completion(.failed) }
        let query = CountQuery(since: since, until: until)
        var parameters = InternalWire.countForm(query, partitions: read.partitions)
        if let cursor = read.cursor { parameters += "&cursor=" + HTTPRequest.percentEncoded(InternalWire.cursorText(cursor)) }
        coordinator.client.request(.post, "/internal/v1/export", to: address, headers: ClusterCoordinator.formHeaders,
                                   body: Array(parameters.utf8)) { [coordinator] result in
            guard case .success(let response) = result, response.status == 200,
                  let unavailable = coordinator.declined(in: response) else {
                if case .success(let response) = result, (400..<500).contains(response.status) {
                    coordinator.refused(response, by: read.node)
                    return completion(.refused)
                }
                return completion(.failed)
            }
            completion(.answered(response.body, next: response.headers["x-espy-next-cursor"].flatMap(InternalWire.parseCursor),
                                 unavailable: unavailable))
        }
    }

    func cancel() { isCancelled = true }
}

struct ExportIncomplete: Error, CustomStringConvertible {
    let missing: Int
    var description: String { "\(missing) partitions have no answering replica" }
}
