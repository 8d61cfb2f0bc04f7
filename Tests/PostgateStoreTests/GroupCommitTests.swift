import Foundation
import GRDB
import Synchronization
import Testing
@testable import PostgateStore
@testable import PostgateIndex

/// `GroupCommitQueue`: concurrent write transactions share commits; each caller gets its
/// own result after the commit, and a failing one rolls back alone.
@Suite struct GroupCommitTests {
    let fixture: StoreFixture
    let database: SQLiteDatabase

    init() throws {
        fixture = try StoreFixture()
        database = try SQLiteDatabase(path: fixture.dataPath + "/group.sqlite")
        try database.write { db in try db.execute(sql: "CREATE TABLE item (id INTEGER PRIMARY KEY, value INTEGER NOT NULL UNIQUE)") }
    }

    func count() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM item") ?? 0 }
    }

    @Test func concurrentWritersAllCommitWithTheirOwnResults() throws {
        let writers = 64
        let results = Mutex<[Int: Int64]>([:])
        onThreads(writers) { [database] i in
            let id = try? database.groupWrite { db -> Int64 in
                try db.execute(sql: "INSERT INTO item (value) VALUES (?)", arguments: [i])
                usleep(2000)  // long enough that other writers queue behind this batch
                return db.lastInsertedRowID
            }
            results.withLock { $0[i] = id }
        }
        #expect(try count() == writers)
        #expect(database.commits.transactionCount < writers / 2, "writers waiting together share a transaction")
        let stored = try database.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, value FROM item").map { ($0["value"] as Int, $0["id"] as Int64) })
        }
        #expect(results.withLock { $0 } == stored)
    }

    @Test func aFailingWriterRollsBackAloneInItsBatch() throws {
        try database.write { db in try db.execute(sql: "INSERT INTO item (value) VALUES (0)") }
        let failures = Mutex(0)
        // Writer 0 inserts a row and then violates UNIQUE: its savepoint goes, its first row with it.
        onThreads(32) { [database] i in
            do {
                try database.groupWrite { db in
                    try db.execute(sql: "INSERT INTO item (value) VALUES (?)", arguments: [1000 + i])
                    if i == 0 { try db.execute(sql: "INSERT INTO item (value) VALUES (0)") }
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 1)
        #expect(try count() == 1 + 31)
        #expect(try database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM item WHERE value = 1000") } == nil)
    }
}

/// The writer commits with `synchronous = FULL` (RFC 5321 section 4.2.5: a 250 means the
/// message is safe), although GRDB's WAL set-up picks NORMAL; and checkpoints rarely.
@Suite struct DurableCommitTests {
    @Test func theWriterSyncsEveryCommit() throws {
        let fixture = try StoreFixture()
        let database = try SQLiteDatabase(path: fixture.dataPath + "/durable.sqlite")
        #expect(try database.writerPragma("synchronous") == 2)
    }

    /// Checkpoints come after `checkpointPages` WAL pages, not SQLite's 1,000.
    @Test func theWriterCheckpointsRarely() throws {
        let fixture = try StoreFixture()
        let database = try SQLiteDatabase(path: fixture.dataPath + "/durable.sqlite")
        #expect(try database.writerPragma("wal_autocheckpoint") == SQLiteDatabase.checkpointPages)
        #expect(SQLiteDatabase.checkpointPages > 1_000)
    }
}

/// The WAL is given its full size at start; SQLite must read past the zeros as it reads
/// past old frames: a copy of the files taken mid-run (a crash) opens with every commit.
@Suite struct WALPreallocationTests {
    @Test func aPreallocatedWALKeepsEveryCommitAcrossACrash() throws {
        let fixture = try StoreFixture()
        let path = fixture.dataPath + "/wal.sqlite"
        let database = try SQLiteDatabase(path: path)
        try database.write { db in try db.execute(sql: "CREATE TABLE item (value INTEGER)") }
        #expect(try database.preallocateWAL().added > 0)
        let size = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int
        #expect(size == SQLiteDatabase.fullWALSize)
        #expect(try database.preallocateWAL().added == 0)
        for value in 1...50 {
            try database.groupWrite { db in try db.execute(sql: "INSERT INTO item VALUES (?)", arguments: [value]) }
        }
        #expect(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int == size)

        let copy = fixture.dataPath + "/crash.sqlite"
        for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + suffix) }
        let reopened = try SQLiteDatabase(path: copy)
        #expect(try reopened.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM item") } == 50)
        #expect(try reopened.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") } == ["ok"])
    }

    /// On a small or nearly full filesystem the WAL takes at most half the free space and
    /// leaves the margin; with no room it is left as it is, never cut.
    @Test func theWALShrinksToTheFreeSpace() {
        let full = SQLiteDatabase.fullWALSize
        let mib = 1 << 20
        #expect(SQLiteDatabase.walPreallocationSize(current: 0, available: 10_000 * mib) == full)
        #expect(SQLiteDatabase.walPreallocationSize(current: 32, available: 20 * mib) == 32 + 10 * mib)
        #expect(SQLiteDatabase.walPreallocationSize(current: 0, available: 12 * mib) == 4 * mib)
        #expect(SQLiteDatabase.walPreallocationSize(current: 4096, available: SQLiteDatabase.walFreeSpaceMargin) == 4096)
        #expect(SQLiteDatabase.walPreallocationSize(current: 4096, available: 0) == 4096)
        #expect(SQLiteDatabase.walPreallocationSize(current: full + 1, available: 10_000 * mib) == full + 1)
        #expect(SQLiteDatabase.walPreallocationSize(current: full - mib, available: 10_000 * mib) == full)
    }
}
