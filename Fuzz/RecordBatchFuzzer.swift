import EspyCore

// The batch framer of `POST /v1/import` (a JSON array or NDJSON; stamped or keeping each
// record's `server_time`) and the stored-record lines replicas receive.
//
// Input: a flags byte (which framing, content type and mode), then the body.
// Checked beyond "no crash": every record lands in a partition below the partition count, and
// a record passed to a replica as a stored-record line arrives as the same record (id,
// partition, time, body), as replication and repair rely on.

private let partitionCount = 4096
private let serverTime = Timestamp(microseconds: 1_764_000_000_123_456)
private let contentTypes: [String?] = [nil, "application/json", "application/x-ndjson", "application/jsonl; charset=utf-8"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordBatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let flags = data[0]
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    if flags & 0x80 != 0 {
        checkStored(RecordBatch(storedRecords: body, partitionCount: partitionCount))
        return 0
    }
    guard !body.isEmpty else { return 0 }
    let framing = RecordBatch.framing(contentType: contentTypes[Int(flags & 3)], body: body)
    let batch: RecordBatch
    do {
        batch = try RecordBatch(body: body, framing: framing, serverTime: serverTime, partitionCount: partitionCount,
                                keepingServerTime: flags & 4 != 0)
    } catch {
        return 0
    }
    checkStored(batch)
    for record in batch.records {
        var line: [UInt8] = []
        record.appendStored(to: &line)
        let replica = RecordBatch(storedRecords: line, partitionCount: partitionCount)
        fuzzCheck(replica.rejections.isEmpty, "a replica refuses a stored record: \(replica.rejections)")
        fuzzCheck(replica.records == [record], "a replica receives another record than was sent")
    }
    return 0
}

private func checkStored(_ batch: RecordBatch) {
    for record in batch.records {
        fuzzCheck((0..<partitionCount).contains(record.partition), "partition \(record.partition) out of range")
        var exported: [UInt8] = []
        record.appendExported(to: &exported)
    }
}
