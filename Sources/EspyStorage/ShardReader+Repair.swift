import EspyCore

/// Reads for replica repair: which ids a partition holds, and the records behind some ids.
extension ShardReader {
    /// The ids of `partition` here, restricted to `buckets` (nil: all).
    func ids(inPartition partition: Int, buckets: Set<Int>?) throws(StorageError) -> [RecordID] {
        let statement = try connection.statement("SELECT id FROM records WHERE partition = ?1")
        statement.bind(1, partition)
        var ids: [RecordID] = []
        while try statement.step() {
            let id = RecordID(bytes: Array(statement.bytes(0)))
            if buckets?.contains(BucketDigests.bucket(of: id)) ?? true { ids.append(id) }
        }
        return ids
    }

    /// The records with these ids as stored-record lines (`PreparedRecord.appendStored`); ids not
    /// held here are skipped.
    func storedRecords(ids: [RecordID]) throws(StorageError) -> [UInt8] {
        let statement = try connection.statement("SELECT server_time, body FROM records WHERE id = ?1")
        var ndjson: [UInt8] = []
        for id in ids {
            statement.bind(1, blob: id.bytes)
            if try statement.step() {
                PreparedRecord.appendStored(id: id, body: statement.bytes(1), serverTime: Timestamp(microseconds: statement.int(0)),
                                            to: &ndjson)
                ndjson.append(0x0A)
            }
            statement.reset()
        }
        return ndjson
    }
}
