import EspyCore

/// The `partition_digests` table: one row per partition held, rewritten by each transaction
/// that changes the partition.
enum PartitionDigestTable {
    static func load(from connection: SQLiteConnection) throws(StorageError) -> [Int: PartitionDigest] {
        let statement = try connection.uncachedStatement("SELECT partition, n, hash FROM partition_digests")
        var digests: [Int: PartitionDigest] = [:]
        while try statement.step() {
            digests[Int(statement.int(0))] = PartitionDigest(count: Int(statement.int(1)), hash: UInt64(bitPattern: statement.int(2)))
        }
        return digests
    }

    static func store(_ digests: [Int: PartitionDigest], in connection: SQLiteConnection) throws(StorageError) {
        let upsert = try connection.statement("INSERT OR REPLACE INTO partition_digests (partition, n, hash) VALUES (?1, ?2, ?3)")
        let delete = try connection.statement("DELETE FROM partition_digests WHERE partition = ?1")
        for (partition, digest) in digests {
            if digest.count == 0 {
                try delete.bind(1, partition).run()
            } else {
                try upsert.bind(1, partition).bind(2, digest.count).bind(3, Int64(bitPattern: digest.hash)).run()
            }
        }
    }
}
