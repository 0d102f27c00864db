import EspyCore
import EspyLoop
import Logging

/// A node's SQLite shard, as the loop sees it: every call returns at once and completes later on
/// the loop thread, while SQLite runs on the thread pool.
///
/// Writes are group-committed: while one transaction is in flight, new writes queue up, and the
/// next transaction takes them all, so many small acknowledged writes share one commit. Reads
/// run on a small pool of read connections, concurrently with the writer (WAL mode).
public final class Shard {
    public let settings: ShardSettings
    let loop: EventLoop
    let logger: Logger
    private var writer: ShardWriter?
    private var idleReaders: [ShardReader]
    private var allReaders: [ShardReader]
    /// Reads waiting for a connection: queries first, then repair's, each oldest first.
    private var readerWaiters: [(ShardReader) -> Void] = []
    private var backgroundReaderWaiters: [(ShardReader) -> Void] = []
    private var queuedWrites: [(records: [PreparedRecord], completion: (Result<WriteOutcome, StorageError>) -> Void)] = []
    /// Other work for the writer connection (partition drops, hints), run between group commits.
    private var queuedWriterJobs: [(ShardWriter) -> Void] = []
    /// Long work cut into jobs (building adaptive rollups), which takes turns with group commits.
    private var queuedBackgroundJobs: [(ShardWriter) -> Void] = []
    private var backgroundsTurn = false
    var adaptive = AdaptiveDimensions(limit: 0)
    private var writeInFlight = false
    private var onIdle: (() -> Void)?
    public private(set) var isClosed = false
    /// Closed, or waiting for its work to end before closing: long work must not start.
    var isClosing: Bool { isClosed || onIdle != nil }

    /// Records stored, kept on the loop so health checks need no SQLite call.
    public internal(set) var recordCount: Int
    /// Partitions with at least one record here. A sub-request covering all of them can be
    /// answered from the shard-wide rollups instead of reading records.
    public internal(set) var partitionsHeld: Set<Int>
    /// Each partition's digest as committed, kept on the loop for repair to compare without
    /// touching SQLite. Partitions without records are absent.
    public internal(set) var digests: [Int: PartitionDigest]
    /// Hints waiting per target node, kept on the loop for the partitions report.
    public internal(set) var hintCounts: [String: Int] = [:]

    /// Opens (creating or migrating) the shard. Blocking: call before the loop starts serving.
    public init(loop: EventLoop, settings: ShardSettings, logger: Logger = Logger(label: "espymetrics.storage")) throws(StorageError) {
        self.loop = loop
        self.settings = settings
        self.logger = logger
        let connection = try SQLiteConnection(path: settings.path)
        do {
            try connection.execute("PRAGMA journal_mode = WAL")
            try connection.execute("PRAGMA synchronous = \(settings.durability == .full ? "FULL" : "NORMAL")")
            // Ingest touches random leaves of the id and partition indexes, and every commit
            // writes each page it touched to the WAL again: a 64 MiB writer cache (filled only
            // as a shard grows) and checkpoints every 64 MiB of WAL (not SQLite's 4 MiB, so a
            // hot page reaches the database file once for several commits) cut the page reads
            // and rewrites that dominated measured ingest on a million-record shard.
            try connection.execute("PRAGMA cache_size = -65536")
            try connection.execute("PRAGMA wal_autocheckpoint = 16384")
            try ShardSchema.migrate(connection)
            try Shard.checkPartitionCount(connection, settings.partitionCount)
            let started = Timestamp.now()
            let writer = try ShardWriter(connection: connection, slots: settings.slotPaths, combinationSlots: settings.dimensions.count,
                                         distinctFoldRows: settings.distinctFoldRows, adaptiveLimit: settings.adaptiveLimit)
            if let rebuilt = writer.rebuiltRecords, rebuilt > 0 {
                logger.info("rebuilt the rollups for the declared dimensions and distinct paths", metadata: [
                    "storage/records": "\(rebuilt)", "storage/ms": "\((Timestamp.now().microseconds - started.microseconds) / 1000)",
                    "storage/dimensions": "\(settings.dimensions.map(\.description).joined(separator: ","))",
                    "storage/distinct": "\(settings.distinctPaths.map(\.description).joined(separator: ","))",
                ])
            }
            digests = writer.digests
            adaptive = AdaptiveDimensions(limit: settings.adaptiveLimit, entries: writer.adaptive)
            hintCounts = try writer.hintCounts()
            self.writer = writer
            connection.resetStatements()
        } catch {
            connection.close()
            throw error
        }
        var readers: [ShardReader] = []
        do {
            for _ in 0..<max(1, settings.readerCount) {
                let readConnection = try SQLiteConnection(path: settings.path, readOnly: true)
                readers.append(ShardReader(connection: readConnection, slots: settings.slotPaths, combinationSlots: settings.dimensions.count))
            }
            recordCount = try readers[0].recordCount()
            partitionsHeld = try readers[0].partitionsHeld()
            readers[0].connection.resetStatements()
        } catch {
            for reader in readers { reader.connection.close() }
            connection.close()
            throw error
        }
        idleReaders = readers
        allReaders = readers
        for entry in adaptive.entries where !entry.isReady { buildAdaptive(slot: entry.slot) }
    }

    /// The partition count is fixed for the life of the data; a mismatch would misplace records.
    private static func checkPartitionCount(_ connection: SQLiteConnection, _ partitionCount: Int) throws(StorageError) {
        let statement = try connection.statement("SELECT value FROM meta WHERE key = 'partitions'")
        defer { statement.reset() }
        if try statement.step() {
            let stored = statement.text(0)
            guard stored == String(partitionCount) else {
                throw StorageError(code: 0, message: "this data directory was created with partitions = \(stored), "
                                   + "but the configuration says \(partitionCount); the partition count cannot change",
                                   configurationKey: "cluster.partitions")
            }
        } else {
            try connection.statement("INSERT INTO meta (key, value) VALUES ('partitions', ?1)").bind(1, String(partitionCount)).run()
        }
    }

    // MARK: Writes

    /// Stores `records`, completing only after they are committed.
    public func write(_ records: [PreparedRecord], completion: @escaping (Result<WriteOutcome, StorageError>) -> Void) {
        guard !isClosed else {
            completion(.failure(StorageError(code: 0, message: "shard is closed")))
            return
        }
        // Marked held before the commit: a read that starts after the commit must not take
        // the unfiltered path for a partition it does not ask for. A superset is always safe.
        for record in records { partitionsHeld.insert(record.partition) }
        queuedWrites.append((records, completion))
        startNextWrite()
    }

    private func startNextWrite() {
        guard !writeInFlight, let writer else { return }
        // A job waiting goes before the next group commit: under a steady ingest the write
        // queue is never empty, and hints and drops must not wait for a lull.
        if !queuedWriterJobs.isEmpty {
            writeInFlight = true
            queuedWriterJobs.removeFirst()(writer)
            return
        }
        if !queuedBackgroundJobs.isEmpty, queuedWrites.isEmpty || backgroundsTurn {
            backgroundsTurn = false
            writeInFlight = true
            queuedBackgroundJobs.removeFirst()(writer)
            return
        }
        guard !queuedWrites.isEmpty else { return }
        backgroundsTurn = true
        let batch = queuedWrites
        queuedWrites = []
        writeInFlight = true
        let requests = batch.map(\.records)
        loop.runBlocking({
            defer { writer.connection.resetStatements() }
            return Result { () throws(StorageError) in try writer.insert(requests) }
        }) { [self] result in
            writeInFlight = false
            switch result {
            case .success(let (outcomes, touched)):
                digests.merge(touched) { $1 }
                for (entry, outcome) in zip(batch, outcomes) {
                    recordCount += outcome.inserted
                    entry.completion(.success(outcome))
                }
            case .failure(let error):
                logger.error("write transaction failed", metadata: ["storage/error": "\(error)", "storage/requests": "\(batch.count)"])
                for entry in batch { entry.completion(.failure(error)) }
            }
            startNextWrite()
            checkIdle()
        }
    }

    /// Runs `work` on the writer connection, off the loop, between two group commits; in the
    /// `background`, it waits for every other job and takes turns with group commits.
    func withWriter<T>(background: Bool = false, _ work: @escaping (ShardWriter) throws(StorageError) -> T,
                       completion: @escaping (Result<T, StorageError>) -> Void) {
        guard !isClosed else {
            completion(.failure(StorageError(code: 0, message: "shard is closed")))
            return
        }
        let job: (ShardWriter) -> Void = { [self] writer in
            loop.runBlocking({
                defer { writer.connection.resetStatements() }
                return Result { () throws(StorageError) in try work(writer) }
            }) { [self] result in
                writeInFlight = false
                completion(result)
                startNextWrite()
                checkIdle()
            }
        }
        if background { queuedBackgroundJobs.append(job) } else { queuedWriterJobs.append(job) }
        startNextWrite()
    }

    // MARK: Reads

    /// Counts over the records of `partitions` (nil: every record here).
    public func count(_ query: CountQuery, partitions: [Int]? = nil,
                      completion: @escaping (Result<CountResult, StorageError>) -> Void) {
        let filter = restriction(partitions)
        if filter == nil, let path = AdaptiveDimensions.candidate(of: query, dimensions: settings.dimensions, slotPaths: settings.slotPaths) {
            switch adaptive.asked(path, now: UInt64(Timestamp.now().microseconds / 1000)) {
            case .answer(let slot):
                return withReader({ (reader) throws(StorageError) -> (CountResult, fromRollup: Bool) in
                    if let answer = try reader.adaptiveCount(query, path: path, slot: slot) { return (answer, true) }
                    return (try reader.count(query), false)
                }) { [self] result in
                    if case .success((_, true)) = result { adaptive.answered(slot: slot) }
                    completion(result.map(\.0))
                }
            case .add(let slot, let evicting):
                addAdaptive(path, slot: slot, evicting: evicting)
            case .scan:
                break
            }
        }
        if readsBodiesInTableOrder(query, partitions: filter) {
            return countInSlices(query, partitions: filter, completion: completion)
        }
        withReader({ (reader) throws(StorageError) in
            if let filter { return try reader.count(query, partitions: filter) }
            return try reader.count(query)
        }, completion: completion)
    }

    /// A count that reads the bodies of every record held here, or of most of them, over all
    /// time reads the table in order, cut into one run per reader. A bounded time range or a
    /// few partitions are cheaper through their index.
    private func readsBodiesInTableOrder(_ query: CountQuery, partitions: [Int]?) -> Bool {
        guard query.limit == nil, query.since == nil, query.until == nil, !readsFromRollups(query) else { return false }
        return partitions.map { $0.count * 4 >= partitionsHeld.count } ?? true
    }

    private func countInSlices(_ query: CountQuery, partitions: [Int]?,
                               completion: @escaping (Result<CountResult, StorageError>) -> Void) {
        withReader({ (reader) throws(StorageError) in try reader.seqBounds() }) { [self] bounds in
            guard case .success(let bounds) = bounds else { return completion(bounds.map { _ in CountResult() }) }
            let slices = bounds.map { RecordSlice.split($0, into: allReaders.count) } ?? []
            guard !slices.isEmpty else { return completion(.success(CountResult())) }
            var merged = CountResult()
            var failure: StorageError?
            var pending = slices.count
            for slice in slices {
                withReader({ (reader) throws(StorageError) in
                    if let partitions { return try reader.count(query, partitions: partitions, slice: slice) }
                    return try reader.count(query, slice: slice)
                }) { result in
                    switch result {
                    case .success(let part): merged.merge(part)
                    case .failure(let error): failure = failure ?? error
                    }
                    pending -= 1
                    if pending == 0 { completion(failure.map { .failure($0) } ?? .success(merged)) }
                }
            }
        }
    }

    /// The newest `limit` records of `partitions` (nil: all) in the query's range, newest first.
    public func newest(_ query: CountQuery, limit: Int, partitions: [Int]? = nil,
                       completion: @escaping (Result<[NewestRecord], StorageError>) -> Void) {
        let filter = restriction(partitions)
        withReader({ (reader) throws(StorageError) in try reader.newest(query, limit: limit, partitions: filter) },
                   completion: completion)
    }

    /// The partition list a read must filter on, or nil when it covers everything held here.
    /// Whether a count over everything this shard holds is read from its rollups rather than
    /// from its records (a count over some of its partitions always reads records).
    public func readsFromRollups(_ query: CountQuery) -> Bool {
        if let path = AdaptiveDimensions.candidate(of: query, dimensions: settings.dimensions, slotPaths: settings.slotPaths),
           adaptive.entries.contains(where: { $0.path == path && $0.isReady }) {
            return RollupPlan(since: query.since, until: query.until).edges.isEmpty
        }
        guard query.limit == nil, (query.groupPaths + query.filters.map(\.path)).allSatisfy(settings.dimensions.contains) else { return false }
        return query.distinct.map { settings.dimensions.contains($0) || settings.distinctPaths.contains($0) } ?? true
    }

    private func restriction(_ partitions: [Int]?) -> [Int]? {
        guard let partitions, partitions.count < settings.partitionCount else { return nil }
        // A flag array, not a Set: sub-requests list thousands of partitions, on every query.
        var requested = [Bool](repeating: false, count: settings.partitionCount)
        for partition in partitions where partition >= 0 && partition < requested.count { requested[partition] = true }
        if partitionsHeld.allSatisfy({ $0 < requested.count && requested[$0] }) { return nil }
        return partitions.filter { partitionsHeld.contains($0) }
    }

    /// One page of the NDJSON export, after `cursor` (nil: from the start).
    public func exportPage(after cursor: ExportCursor?, since: Timestamp?, until: Timestamp?, partitions: [Int]? = nil,
                           maxBytes: Int = 256 * 1024, completion: @escaping (Result<ExportPage, StorageError>) -> Void) {
        let filter = restriction(partitions)
        withReader({ (reader) throws(StorageError) in
            try reader.exportPage(after: cursor, since: since, until: until, partitions: filter, maxBytes: maxBytes)
        }, completion: completion)
    }

    /// `background`: repair's reads, which queue behind every waiting query. A node catching up
    /// asks for thousands of partitions' ids at once; a count queued behind them all waited
    /// longer than its client (10 s and more, with 1,000,000 records on six nodes).
    func withReader<T>(background: Bool = false, _ work: @escaping (ShardReader) throws(StorageError) -> T,
                               completion: @escaping (Result<T, StorageError>) -> Void) {
        guard !isClosed else {
            completion(.failure(StorageError(code: 0, message: "shard is closed")))
            return
        }
        let run: (ShardReader) -> Void = { [self] reader in
            loop.runBlocking({
                defer { reader.connection.resetStatements() }
                return Result { () throws(StorageError) in try work(reader) }
            }) { [self] result in
                releaseReader(reader)
                completion(result)
            }
        }
        if let reader = idleReaders.popLast() {
            run(reader)
        } else if background {
            backgroundReaderWaiters.append(run)
        } else {
            readerWaiters.append(run)
        }
    }

    private func releaseReader(_ reader: ShardReader) {
        if !readerWaiters.isEmpty {
            readerWaiters.removeFirst()(reader)
        } else if !backgroundReaderWaiters.isEmpty {
            backgroundReaderWaiters.removeFirst()(reader)
        } else {
            idleReaders.append(reader)
            checkIdle()
        }
    }

    // MARK: Closing

    private var isIdle: Bool {
        !writeInFlight && queuedWrites.isEmpty && queuedWriterJobs.isEmpty && queuedBackgroundJobs.isEmpty && idleReaders.count == allReaders.count
    }

    private func checkIdle() {
        guard isIdle, let onIdle else { return }
        self.onIdle = nil
        onIdle()
    }

    /// Waits for queued and running work, then closes every connection (checkpointing the WAL).
    public func close(_ completion: @escaping () -> Void) {
        onIdle = { [self] in
            isClosed = true
            for reader in allReaders { reader.connection.close() }
            if let writer {
                try? writer.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                writer.connection.close()
            }
            writer = nil
            completion()
        }
        checkIdle()
    }
}
