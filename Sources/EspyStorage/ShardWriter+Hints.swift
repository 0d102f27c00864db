import EspyCore

/// One record kept for a replica that missed it.
public struct Hint: Sendable {
    public let seq: Int64
    /// The record as a stored-record line (`PreparedRecord.appendStored`), without the newline.
    public let record: [UInt8]

    /// The partition its record belongs to, read from the id the line starts with.
    public func partition(of partitionCount: Int) -> Int? {
        RecordBatch.splitStoredLine(record[...]).0?.partition(of: partitionCount)
    }
}

/// Hinted handoff's durable part: records a replica missed, kept in this node's own file until
/// the replica is back (or the hint window has passed and anti-entropy covers the rest).
extension ShardWriter {
    func addHints(_ records: [PreparedRecord], for target: String, now: Timestamp) throws(StorageError) {
        try connection.transaction { () throws(StorageError) in
            let insert = try connection.statement("INSERT INTO hints (target, created, record) VALUES (?1, ?2, ?3)")
            var line: [UInt8] = []
            for record in records {
                line.removeAll(keepingCapacity: true)
                record.appendStored(to: &line)
                try insert.bind(1, target).bind(2, now.microseconds).bind(3, text: line).run()
            }
        }
    }

    /// The oldest `limit` hints for `target`.
    func hints(for target: String, limit: Int) throws(StorageError) -> [Hint] {
        let statement = try connection.statement("SELECT seq, record FROM hints WHERE target = ?1 ORDER BY seq LIMIT ?2")
        statement.bind(1, target).bind(2, limit)
        var hints: [Hint] = []
        while try statement.step() { hints.append(Hint(seq: statement.int(0), record: Array(statement.bytes(1)))) }
        return hints
    }

    func deleteHints(_ seqs: [Int64]) throws(StorageError) {
        try connection.transaction { () throws(StorageError) in
            let delete = try connection.statement("DELETE FROM hints WHERE seq = ?1")
            for seq in seqs { try delete.bind(1, seq).run() }
        }
    }

    /// Drops hints created before `cutoff`.
    func expireHints(createdBefore cutoff: Timestamp) throws(StorageError) {
        try connection.statement("DELETE FROM hints WHERE created < ?1").bind(1, cutoff.microseconds).run()
    }

    /// Hints waiting, per target.
    func hintCounts() throws(StorageError) -> [String: Int] {
        let statement = try connection.statement("SELECT target, COUNT(*) FROM hints GROUP BY target")
        var counts: [String: Int] = [:]
        while try statement.step() { counts[statement.text(0)] = Int(statement.int(1)) }
        return counts
    }
}
