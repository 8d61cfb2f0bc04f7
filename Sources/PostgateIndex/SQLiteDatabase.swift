import GRDB
import PostgateMaildir

/// The SQLite file that holds the directory and the message index, opened as a GRDB
/// `DatabasePool`.
///
/// WAL mode lets `postgate serve` and the admin commands use the file at the same time
/// (readers never block the writer); `synchronous=FULL` makes every commit durable before
/// it returns, which the delivery protocol relies on. Writes use `BEGIN IMMEDIATE` so a
/// transaction that reads before it writes waits for another process's writer instead of
/// failing with `SQLITE_BUSY` half-way.
package struct SQLiteDatabase: Sendable {
    package let path: String
    package let pool: DatabasePool
    /// Shares commits between concurrent deliveries (`groupWrite`).
    package let commits = GroupCommitQueue()
    /// Where `write` publishes a new directory generation.
    package let generationHint: DirectoryGenerationHint

    /// WAL pages after which a commit checkpoints (SQLite's default is 1,000: 4 MB).
    ///
    /// Every delivery rewrites the same few pages (the mailbox rows, the rightmost leaves of
    /// the message table and its indexes, the session), and a checkpoint copies each page
    /// once however often the WAL holds it. At 1,000 pages a checkpoint (its copies and the
    /// database file's `fsync`, inside some delivery's commit) comes every few dozen
    /// messages; at 16,000 (64 MB of WAL) every several hundred, for fewer distinct pages
    /// per message. Recovery reads the WAL once at start, well under a second at this size.
    package static let checkpointPages = 16_000

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    package init(path: String) throws(StoreError) {
        self.path = path
        self.generationHint = DirectoryGenerationHint(databasePath: path)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Statement journals (savepoints in a group commit) and temporary b-trees stay
            // in memory: spilled, each transaction created, wrote and removed a file.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns WAL on after `prepareDatabase` and sets the writer to
            // `synchronous = NORMAL` with it, which leaves the last commits to the next
            // checkpoint's fsync: a power cut could lose an acknowledged message's row, and
            // recovery would then remove its file. FULL syncs the WAL on every commit.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.checkpointPages)")
            }
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseError where [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode) {
            let root = path.hasSuffix("/postgate.sqlite") ? String(path.dropLast("/postgate.sqlite".count)) : path
            throw .indexUnreadable(dataDirectory: root, reason: error.message ?? "\(error.resultCode)")
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// The value of `PRAGMA name` on the writer connection (`synchronous` 2 is FULL).
    package func writerPragma(_ name: String) throws(StoreError) -> Int {
        do {
            return try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA \(name)") ?? -1 }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`), committing if it returns;
    /// a change to the directory is then published in `generationHint` (unless the caller
    /// changes no directory table: `publishingGeneration: false`).
    package func write<T>(publishingGeneration: Bool = true, _ body: (Database) throws -> T) throws(StoreError) -> T {
        var published: Int64?
        let result: T
        do {
            result = try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    let before = publishingGeneration ? try Self.directoryGeneration(db) : nil
                    result = try body(db)
                    let after = publishingGeneration ? try Self.directoryGeneration(db) : nil
                    published = after != before ? after : nil
                    return .commit
                }
                return result!
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
        if let published { generationHint.publish(published) }
        return result
    }

    /// The directory generation (`registerDirectoryGenerationSchema`).
    package static func directoryGeneration(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, cachedSQL: "SELECT value FROM directory_generation WHERE id = 1") ?? 0
    }

    /// Runs `body` in a write transaction that may be shared with other concurrent callers'
    /// (`GroupCommitQueue`); returns once that transaction has committed. For the delivery
    /// path's index transaction, whose commit costs more than its work.
    package func groupWrite<T>(_ body: @escaping (Database) throws -> T) throws(StoreError) -> T {
        try commits.write(self, body)
    }

    /// Runs `body` in a write transaction that is always rolled back: a dry run that checks
    /// every rule the real change would, and changes nothing.
    package func writeRollingBack(_ body: (Database) throws -> Void) throws(StoreError) {
        do {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try body(db)
                    return .rollback
                }
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Runs `body` in a read transaction on a consistent snapshot.
    package func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Runs `body`, which must run a single statement, outside an explicit transaction (the
    /// statement is atomic by itself): no BEGIN and COMMIT around the one-value lookups the
    /// delivery path makes per message.
    package func readStatement<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.unsafeRead(body)
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    package static func storeError(_ error: any Error, path: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            if error.resultCode == .SQLITE_FULL {
                return .insufficientStorage(operation: "write", path: path, reason: error.message ?? "database or disk is full")
            }
            return .database(path: path, reason: error.message ?? "\(error.resultCode)")
        }
        return .database(path: path, reason: "\(error)")
    }
}
