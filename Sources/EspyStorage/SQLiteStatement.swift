import CSQLite

/// A prepared statement; finalised when the last reference goes (its connection caches it).
public final class SQLiteStatement {
    private unowned let connection: SQLiteConnection
    private let handle: OpaquePointer

    init(connection: SQLiteConnection, sql: String) throws(StorageError) {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw connection.error(status, "prepare \(sql.prefix(80))")
        }
        self.connection = connection
        self.handle = statement
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // Bind indices are 1-based, as in SQL's ?1, ?2, ...
    @discardableResult
    public func bind(_ index: Int32, _ value: Int64) -> SQLiteStatement {
        sqlite3_bind_int64(handle, index, value)
        return self
    }

    @discardableResult
    public func bind(_ index: Int32, _ value: Int) -> SQLiteStatement { bind(index, Int64(value)) }

    @discardableResult
    public func bind(_ index: Int32, _ value: String) -> SQLiteStatement {
        sqlite3_bind_text(handle, index, value, -1, espy_sqlite_transient())
        return self
    }

    @discardableResult
    public func bind(_ index: Int32, blob: UnsafeRawBufferPointer) -> SQLiteStatement {
        // A nil base address (an empty array's) would bind NULL, not an empty blob.
        if blob.isEmpty {
            sqlite3_bind_zeroblob(handle, index, 0)
        } else {
            sqlite3_bind_blob(handle, index, blob.baseAddress, Int32(blob.count), espy_sqlite_transient())
        }
        return self
    }

    @discardableResult
    public func bind(_ index: Int32, blob: [UInt8]) -> SQLiteStatement {
        blob.withUnsafeBytes { bind(index, blob: $0) }
    }

    /// Binds UTF-8 bytes as TEXT (copied by SQLite).
    @discardableResult
    public func bind(_ index: Int32, text: [UInt8]) -> SQLiteStatement {
        text.withUnsafeBytes {
            sqlite3_bind_text(handle, index, $0.baseAddress?.assumingMemoryBound(to: CChar.self), Int32($0.count),
                              espy_sqlite_transient())
        }
        return self
    }

    /// Advances to the next row; false when the statement is done.
    public func step() throws(StorageError) -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(status, "step")
        }
    }

    /// Runs a statement that returns no rows.
    public func run() throws(StorageError) {
        _ = try step()
        sqlite3_reset(handle)
    }

    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    public func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }

    /// The column's bytes, valid until the next step or reset.
    public func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        guard let pointer, count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: UInt8.self), count: count)
    }
}
