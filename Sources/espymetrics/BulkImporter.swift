import EspyHTTP
import EspyHTTPClient
import EspyLoop
import Foundation

/// Streams an NDJSON input to a node's `/v1/import` in batches, a few in flight at once, and
/// collects every record the node rejected with its line number. Records the node could not
/// store are retried with backoff, and only those: a 503 names them by their position in the
/// upload (`failed`), and ingest is idempotent, so a retry never duplicates.
final class BulkImporter {
    struct Summary {
        var accepted = 0
        var stored = 0
        var duplicates = 0
        var rejected: [(line: Int, error: String)] = []
        /// Valid records the node never acknowledged, retries included (part of `rejected`).
        var notStored = 0
        var seconds = 0.0
    }

    /// Delays before each retry; their count bounds the retries.
    static let retryDelaysMilliseconds: [UInt64] = [500, 1_000, 2_000]
    /// A reason quoted from a node's answer is cut to this many characters: one per line of
    /// the reject list, not a whole response body.
    static let maxReasonLength = 200

    private let connection: NodeConnection
    private let reader: LineBatchReader
    private let batchSize: Int
    private let concurrency: Int
    private let rejects: RejectFile
    private let retryDelays: [UInt64]
    /// `/v1/import`, with `keep_server_time=true` when migrating.
    private let target: String
    private var summary = Summary()
    private var inFlight = 0
    private var inputDone = false
    private var progress = ProgressLine()
    private let startedAt = ProgressLine.now()

    init(connection: NodeConnection, reader: LineBatchReader, batchSize: Int, concurrency: Int, rejects: RejectFile,
         keepServerTime: Bool = false, retryDelaysMilliseconds: [UInt64] = BulkImporter.retryDelaysMilliseconds) {
        self.target = keepServerTime ? "/v1/import?keep_server_time=true" : "/v1/import"
        self.connection = connection
        self.reader = reader
        self.batchSize = batchSize
        self.concurrency = concurrency
        self.rejects = rejects
        self.retryDelays = retryDelaysMilliseconds
    }

    func run() -> Summary {
        fill()
        while !(inputDone && inFlight == 0) { connection.loop.runOnce() }
        connection.client.close()
        connection.loop.run()
        progress.clear()
        summary.seconds = ProgressLine.now() - startedAt
        return summary
    }

    /// Keeps `concurrency` batches in flight. Reading the next lines happens on the loop: this
    /// is a command-line client whose loop serves only this import.
    private func fill() {
        while inFlight < concurrency && !inputDone {
            let batch = reader.next(size: batchSize)
            if batch.lines.isEmpty {
                inputDone = true
                return
            }
            inFlight += 1
            send(batch, attempt: 0)
        }
    }

    /// What became of one upload.
    enum Outcome: Equatable {
        /// The node answered for each record: what it acknowledged and rejected counts as
        /// done; `failed` are the positions (with the node's reason) of valid records that
        /// missed their write quorum.
        case answered(accepted: Int, stored: Int, duplicates: Int, rejected: [Rejection], failed: [Rejection])
        /// Nothing known about any record (no answer, an answer without per-record results);
        /// `retryable` unless the node refused the request itself (4xx), which a retry repeats.
        case notStored(reason: String, retryable: Bool)
    }

    struct Rejection: Equatable {
        let index: Int
        let error: String
    }

    private func send(_ batch: LineBatchReader.Batch, attempt: Int) {
        connection.client.request(.post, target, to: connection.server,
                                  headers: [("Content-Type", "application/x-ndjson")], body: batch.body) { [self] result in
            switch BulkImporter.outcome(of: result, lineCount: batch.lines.count) {
            case .answered(let accepted, let stored, let duplicates, let rejected, let failed):
                summary.accepted += accepted
                summary.stored += stored
                summary.duplicates += duplicates
                for rejection in rejected { reject(batch, rejection.index, rejection.error) }
                guard !failed.isEmpty else { return finished() }
                retryOrGiveUp(batch.subset(failed.map(\.index)), reasons: failed.map(\.error), attempt: attempt)
            case .notStored(let reason, let retryable):
                guard retryable else {
                    for index in batch.lines.indices { reject(batch, index, reason, notStored: true) }
                    return finished()
                }
                retryOrGiveUp(batch, reasons: Array(repeating: reason, count: batch.lines.count), attempt: attempt)
            }
        }
    }

    /// Sends `batch` again after the next delay; once the delays are used up, each of its
    /// records goes to the reject file with its own last reason.
    private func retryOrGiveUp(_ batch: LineBatchReader.Batch, reasons: [String], attempt: Int) {
        guard attempt < retryDelays.count else {
            let attempts = attempt + 1
            for (index, reason) in reasons.enumerated() {
                reject(batch, index, "not stored after \(attempts) attempts: \(reason)", notStored: true)
            }
            return finished()
        }
        let timer = Timer(loop: connection.loop)
        timer.start(after: retryDelays[attempt]) { [self] in
            timer.close()
            send(batch, attempt: attempt + 1)
        }
    }

    private func reject(_ batch: LineBatchReader.Batch, _ index: Int, _ reason: String, notStored: Bool = false) {
        rejects.write(batch.lines[index])
        summary.rejected.append((batch.lineNumbers[index], reason))
        if notStored { summary.notStored += 1 }
    }

    /// Reads the node's answer to an upload of `lineCount` records. A 200 or 503 whose body is
    /// an import answer speaks for each record; anything else for none.
    static func outcome(of result: Result<HTTPResponseParser.Response, HTTPClientError>, lineCount: Int) -> Outcome {
        let response: HTTPResponseParser.Response
        switch result {
        case .success(let answer): response = answer
        case .failure(let error): return .notStored(reason: shortened(error.description), retryable: true)
        }
        let answer = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        if response.status == 200 || response.status == 503, let answer, let accepted = answer["accepted"] as? Int {
            func rejections(_ key: String) -> [Rejection] {
                (answer[key] as? [[String: Any]] ?? []).compactMap { item in
                    guard let index = item["index"] as? Int, (0..<lineCount).contains(index) else { return nil }
                    return Rejection(index: index, error: shortened(item["error"] as? String ?? key))
                }
            }
            return .answered(accepted: accepted, stored: answer["stored"] as? Int ?? 0, duplicates: answer["duplicates"] as? Int ?? 0,
                             rejected: rejections("rejected"), failed: rejections("failed"))
        }
        let message = answer?["error"] as? String ?? response.bodyText.split(separator: "\n").first.map(String.init) ?? ""
        let reason = "the node answered \(response.status)" + (message.isEmpty ? "" : ": " + shortened(message))
        // A 4xx is about the request itself (too large, malformed), which a retry would repeat;
        // 408 and 429 are the exceptions that ask for one.
        let retryable = !(400..<500).contains(response.status) || response.status == 408 || response.status == 429
        return .notStored(reason: reason, retryable: retryable)
    }

    static func shortened(_ text: String) -> String {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.count <= maxReasonLength ? line : String(line.prefix(maxReasonLength - 1)) + "…"
    }

    private func finished() {
        inFlight -= 1
        progress.update(records: summary.accepted + summary.rejected.count, bytesRead: reader.bytesRead,
                        totalBytes: reader.totalBytes, startedAt: startedAt)
        fill()
    }
}

/// The file that collects rejected records, exactly as they were in the input, created only
/// when there is something to put in it.
final class RejectFile {
    let path: String
    private var handle: UnsafeMutablePointer<FILE>?
    private(set) var count = 0

    init(path: String) { self.path = path }

    func write(_ line: [UInt8]) {
        if handle == nil { handle = fopen(path, "wb") }
        guard let handle else { return }
        _ = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        fputc(0x0A, handle)
        count += 1
    }

    deinit { if let handle { fclose(handle) } }
}
