import EspyCore

/// What replica repair and hinted handoff ask of the shard; each completes on the loop.
extension Shard {
    /// The ids of `partition` held here, in `buckets` (nil: all).
    public func ids(inPartition partition: Int, buckets: Set<Int>? = nil,
                    completion: @escaping (Result<[RecordID], StorageError>) -> Void) {
        withReader(background: true, { (reader) throws(StorageError) in try reader.ids(inPartition: partition, buckets: buckets) },
                   completion: completion)
    }

    /// The records with these ids, as stored-record lines (the `/internal/v1/records` body form).
    public func storedRecords(ids: [RecordID], completion: @escaping (Result<[UInt8], StorageError>) -> Void) {
        withReader(background: true, { (reader) throws(StorageError) in try reader.storedRecords(ids: ids) }, completion: completion)
    }

    /// Deletes a partition that other replicas now hold; completes with the records removed.
    public func dropPartition(_ partition: Int, completion: @escaping (Result<Int, StorageError>) -> Void) {
        withWriter({ (writer) throws(StorageError) in try writer.dropPartition(partition) }) { [self] result in
            if case .success(let removed) = result {
                digests[partition] = nil
                partitionsHeld.remove(partition)
                recordCount -= removed
            }
            completion(result)
        }
    }

    public func addHints(_ records: [PreparedRecord], for target: String, now: Timestamp,
                         completion: @escaping (Result<Void, StorageError>) -> Void = { _ in }) {
        withWriter({ (writer) throws(StorageError) in try writer.addHints(records, for: target, now: now) }) { [self] result in
            if case .success = result { hintCounts[target, default: 0] += records.count }
            completion(result)
        }
    }

    /// The oldest `limit` hints for `target`.
    public func hints(for target: String, limit: Int, completion: @escaping (Result<[Hint], StorageError>) -> Void) {
        withWriter({ (writer) throws(StorageError) in try writer.hints(for: target, limit: limit) }, completion: completion)
    }

    /// Forgets hints that were delivered.
    public func deleteHints(_ seqs: [Int64], for target: String, completion: @escaping (Result<Void, StorageError>) -> Void) {
        withWriter({ (writer) throws(StorageError) in try writer.deleteHints(seqs) }) { [self] result in
            if case .success = result {
                let left = (hintCounts[target] ?? 0) - seqs.count
                hintCounts[target] = left > 0 ? left : nil
            }
            completion(result)
        }
    }

    /// Drops hints older than the hint window; anti-entropy covers what they carried.
    public func expireHints(createdBefore cutoff: Timestamp, completion: @escaping (Result<Void, StorageError>) -> Void = { _ in }) {
        withWriter({ (writer) throws(StorageError) -> [String: Int] in
            try writer.expireHints(createdBefore: cutoff)
            return try writer.hintCounts()
        }) { [self] result in
            if case .success(let counts) = result { hintCounts = counts }
            completion(result.map { _ in () })
        }
    }
}
