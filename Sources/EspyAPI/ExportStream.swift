import EspyCore
import EspyHTTP
import EspyStorage

/// Streams the shard's records as NDJSON, one storage page per chunk; the server asks for the
/// next page only when the previous one is on the wire, so memory stays flat however big the export.
final class ExportStream: ResponseBodyStream {
    private let shard: Shard
    private let since: Timestamp?
    private let until: Timestamp?
    private let partitions: [Int]?
    private var cursor: ExportCursor?
    private var isDone = false

    init(shard: Shard, since: Timestamp?, until: Timestamp?, partitions: [Int]? = nil) {
        self.shard = shard
        self.since = since
        self.until = until
        self.partitions = partitions
    }

    func nextChunk(_ deliver: @escaping (Result<[UInt8]?, Error>) -> Void) {
        guard !isDone else { return deliver(.success(nil)) }
        shard.exportPage(after: cursor, since: since, until: until, partitions: partitions) { [self] result in
            switch result {
            case .failure(let error):
                deliver(.failure(error))
            case .success(let page):
                cursor = page.next
                isDone = page.next == nil
                if page.ndjson.isEmpty && isDone {
                    deliver(.success(nil))
                } else {
                    deliver(.success(page.ndjson))
                }
            }
        }
    }

    func cancel() { isDone = true }
}
