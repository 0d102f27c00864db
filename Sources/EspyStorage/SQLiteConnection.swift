import CSQLite

/// One SQLite connection. Opened in multi-thread mode: it may move between threads, but only
/// one thread may use it at a time — the shard hands each connection to one job at a time.
public final class SQLiteConnection: @unchecked Sendable {
    // @unchecked Sendable: ownership moves with the job that uses it (see Shard); there is never
    // concurrent access, which SQLITE_OPEN_NOMUTEX requires.
    let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    private var isClosed = false

    public init(path: String, readOnly: Bool = false) throws(StorageError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw StorageError(code: status, message: "open \(path): \(message)")
        }
        handle = db
        // Readers and the writer share the file; a short busy wait covers WAL checkpoints.
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        assert(isClosed, "SQLiteConnection must be closed explicitly")
        if !isClosed { close() }
    }

    /// Finalises cached statements and closes; reports nothing because a shutting-down node has
    /// no one left to tell, but never leaves the file locked.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    public var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    func error(_ code: Int32, _ context: String) -> StorageError {
        StorageError(code: code, message: "\(context): \(lastErrorMessage)")
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(StorageError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(message)
            throw StorageError(code: status, message: "\(text) (in: \(sql.prefix(80)))")
        }
    }

    /// A prepared statement, cached by its SQL so hot queries are compiled once per connection.
    public func statement(_ sql: String) throws(StorageError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try SQLiteStatement(connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// A statement that is not cached: for SQL built per call (an IN list of partitions), which
    /// would otherwise grow the cache without bound.
    public func uncachedStatement(_ sql: String) throws(StorageError) -> SQLiteStatement {
        try SQLiteStatement(connection: self, sql: sql)
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    public func scalarInt(_ sql: String) throws(StorageError) -> Int64 {
        let statement = try statement(sql)
        defer { statement.reset() }
        guard try statement.step() else { return 0 }
        return statement.int(0)
    }

    /// Resets every cached statement. A statement left mid-way through its rows keeps its read
    /// transaction open, pinning the connection to an old snapshot (and the WAL from
    /// checkpointing); every job ends with this so the next one sees current data.
    public func resetStatements() {
        for statement in statements.values { statement.reset() }
    }

    /// Runs `body` in a transaction; rolls back if it throws.
    public func transaction<T>(immediate: Bool = true, _ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

extension SQLiteConnection {
    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}
