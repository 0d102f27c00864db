import EspyLoop
import Foundation

/// Streams an NDJSON input to a node's `/v1/import` in batches, a few in flight at once,
/// retrying batches the node could not store (ingest is idempotent, so a retry never
/// duplicates), and collecting every record the node rejected with its line number.
final class BulkImporter {
    struct Summary {
        var accepted = 0
        var stored = 0
        var duplicates = 0
        var rejected: [(line: Int, error: String)] = []
        var failedBatches = 0
        var seconds = 0.0
    }

    static let retryDelaysMilliseconds: [UInt64] = [500, 1_000, 2_000]

    private let connection: NodeConnection
    private let reader: LineBatchReader
    private let batchSize: Int
    private let concurrency: Int
    private let rejects: RejectFile
    private var summary = Summary()
    private var inFlight = 0
    private var inputDone = false
    private var progress = ProgressLine()
    private let startedAt = ProgressLine.now()

    init(connection: NodeConnection, reader: LineBatchReader, batchSize: Int, concurrency: Int, rejects: RejectFile) {
        self.connection = connection
        self.reader = reader
        self.batchSize = batchSize
        self.concurrency = concurrency
        self.rejects = rejects
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

    private func send(_ batch: LineBatchReader.Batch, attempt: Int) {
        connection.client.request(.post, "/v1/import", to: connection.server,
                                  headers: [("Content-Type", "application/x-ndjson")], body: batch.body) { [self] result in
            var failure: String
            switch result {
            case .success(let response) where response.status == 200:
                if let answer = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] {
                    record(answer, for: batch)
                    return finished()
                }
                failure = "the node answered with a body that is not JSON"
            case .success(let response):
                failure = "the node answered \(response.status): \(response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines))"
            case .failure(let error):
                failure = error.description
            }
            guard attempt < BulkImporter.retryDelaysMilliseconds.count else {
                summary.failedBatches += 1
                for (line, number) in zip(batch.lines, batch.lineNumbers) {
                    rejects.write(line)
                    summary.rejected.append((number, "batch not stored: \(failure)"))
                }
                return finished()
            }
            retry(batch, attempt: attempt + 1)
        }
    }

    private func retry(_ batch: LineBatchReader.Batch, attempt: Int) {
        guard let timer = try? Timer(loop: connection.loop) else { return send(batch, attempt: attempt) }
        timer.start(after: BulkImporter.retryDelaysMilliseconds[attempt - 1]) { [self] in
            timer.close()
            send(batch, attempt: attempt)
        }
    }

    private func record(_ answer: [String: Any], for batch: LineBatchReader.Batch) {
        summary.accepted += answer["accepted"] as? Int ?? 0
        summary.stored += answer["stored"] as? Int ?? 0
        summary.duplicates += answer["duplicates"] as? Int ?? 0
        for rejection in answer["rejected"] as? [[String: Any]] ?? [] {
            guard let index = rejection["index"] as? Int, batch.lines.indices.contains(index) else { continue }
            rejects.write(batch.lines[index])
            summary.rejected.append((batch.lineNumbers[index], rejection["error"] as? String ?? "rejected"))
        }
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
