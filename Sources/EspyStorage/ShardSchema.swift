import EspyCore

/// The shard's tables, as an append-only list of migrations; `PRAGMA user_version` records how
/// many have run. Never edit a released migration: add the next one.
enum ShardSchema {
    static let migrations: [String] = [
        // 1: records kept as received, plus the per-day rollups that answer common counts.
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE records (
            seq INTEGER PRIMARY KEY,
            id BLOB NOT NULL UNIQUE,
            partition INTEGER NOT NULL,
            server_time INTEGER NOT NULL,
            dims BLOB NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX records_by_time ON records (server_time, id, dims);
        CREATE TABLE dimensions (slot INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
        CREATE TABLE dimension_values (
            value_id INTEGER PRIMARY KEY,
            slot INTEGER NOT NULL,
            value TEXT NOT NULL,
            UNIQUE (slot, value)
        );
        CREATE TABLE daily_counts (
            slot INTEGER NOT NULL,
            day INTEGER NOT NULL,
            value_id INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (slot, day, value_id)
        ) WITHOUT ROWID;
        CREATE TABLE daily_totals (day INTEGER PRIMARY KEY, n INTEGER NOT NULL);
        """,
        // 2: per-partition access, for reading and repairing one partition at a time in a cluster.
        """
        CREATE INDEX records_by_partition ON records (partition, server_time);
        """,
        // 3: replica repair. Per-partition digests kept up to date by every write (filled from
        // the records already here by `fillPartitionDigests`), and hinted handoff: records a
        // replica missed, kept here until it is back.
        """
        CREATE TABLE partition_digests (partition INTEGER PRIMARY KEY, n INTEGER NOT NULL, hash INTEGER NOT NULL);
        CREATE TABLE hints (
            seq INTEGER PRIMARY KEY,
            target TEXT NOT NULL,
            created INTEGER NOT NULL,
            record TEXT NOT NULL
        );
        CREATE INDEX hints_by_target ON hints (target, seq);
        """,
        // 4: per-day counts of each combination of declared dimension values that occurs, so a
        // count grouped by some declared dimensions and filtered on others reads a few
        // thousand rows a day instead of every record. `dims` is the records' packed column;
        // the day is `server_time` floor-divided by a day, as `Timestamp.day` computes it.
        """
        CREATE TABLE daily_combinations (
            day INTEGER NOT NULL,
            dims BLOB NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (day, dims)
        ) WITHOUT ROWID;
        INSERT INTO daily_combinations (day, dims, n)
            SELECT (server_time - ((server_time % 86400000000) + 86400000000) % 86400000000) / 86400000000, dims, COUNT(*)
            FROM records GROUP BY 1, 2;
        """,
        // 5: per day and combination of dimension values, the distinct values of each declared
        // distinct path (`ShardSettings.distinctPaths`, slots after the dimensions in `dims`),
        // with how many records carry each, so partition drops can take them out again. Filled
        // by the rebuild the new slots trigger when the shard opens.
        """
        CREATE TABLE daily_distinct (
            day INTEGER NOT NULL,
            slot INTEGER NOT NULL,
            dims BLOB NOT NULL,
            value_id INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (day, slot, dims, value_id)
        ) WITHOUT ROWID;
        """,
        // 6: writes append their distinct values here, in rowid order, and `ShardWriter` folds
        // them into `daily_distinct` once many have gathered. Upserting them one by one touched
        // a random page of `daily_distinct` for nearly every record, and every commit rewrote
        // those pages: a quarter of measured ingest on a million-record shard. Readers read both.
        """
        CREATE TABLE distinct_pending (
            day INTEGER NOT NULL,
            slot INTEGER NOT NULL,
            dims BLOB NOT NULL,
            value_id INTEGER NOT NULL,
            n INTEGER NOT NULL
        );
        """,
        // 7: adaptive dimensions (`AdaptiveDimensions`): paths asked by reading bodies, each
        // with a slot whose rows in `daily_distinct` count records per day, combination and
        // value (0 for records without the path). Records up to `build_end` are counted by the
        // build (done through `built_through`), later ones by the writes that store them.
        """
        CREATE TABLE adaptive_paths (
            slot INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            build_end INTEGER NOT NULL,
            built_through INTEGER NOT NULL,
            last_asked INTEGER NOT NULL
        );
        """,
    ]

    static var currentVersion: Int { migrations.count }

    /// Brings the file up to `currentVersion`, one transaction per migration.
    static func migrate(_ connection: SQLiteConnection) throws(StorageError) {
        let version = Int(try connection.scalarInt("PRAGMA user_version"))
        guard version <= currentVersion else {
            throw StorageError(code: 0, message: "database schema version \(version) is newer than this build (\(currentVersion)); refusing to open it")
        }
        for index in version..<currentVersion {
            try connection.transaction { () throws(StorageError) in
                try connection.execute(migrations[index])
                if index == 2 { try fillPartitionDigests(connection) }
                try connection.execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }

    /// Digests for the records a version-2 shard already holds; XOR has no SQL operator.
    private static func fillPartitionDigests(_ connection: SQLiteConnection) throws(StorageError) {
        var digests: [Int: PartitionDigest] = [:]
        let statement = try connection.uncachedStatement("SELECT partition, id FROM records")
        while try statement.step() {
            digests[Int(statement.int(0)), default: PartitionDigest()].add(RecordID(bytes: Array(statement.bytes(1))))
        }
        try PartitionDigestTable.store(digests, in: connection)
    }
}
