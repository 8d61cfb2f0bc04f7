import GRDB

/// The SQLite file that holds the directory and the message index, opened as a GRDB
/// `DatabasePool`.
///
/// WAL mode lets `postgate serve` and the admin commands use the file at the same time
/// (readers never block the writer); `synchronous=FULL` makes every commit durable before
/// it returns, which the delivery protocol relies on. Writes use `BEGIN IMMEDIATE` so a
/// transaction that reads before it writes waits for another process's writer instead of
/// failing with `SQLITE_BUSY` half-way.
struct SQLiteDatabase: Sendable {
    let path: String
    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    init(path: String) throws(StoreError) {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` on the writer when it turns WAL on, after
            // `prepareDatabase`: a commit would then not be fsynced. Set it back.
            try pool.barrierWriteWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`), committing if it returns.
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Runs `body` in a write transaction that is always rolled back: a dry run that checks
    /// every rule the real change would, and changes nothing.
    func writeRollingBack(_ body: (Database) throws -> Void) throws(StoreError) {
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
    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    private static func storeError(_ error: any Error, path: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            return .database(path: path, reason: error.message ?? "\(error.resultCode)")
        }
        return .database(path: path, reason: "\(error)")
    }
}
