import Foundation
import PostgateMessage
import Synchronization
import Testing
@testable import PostgateStore
@testable import PostgateMaildir

/// `DurableSync`: one shared `syncfs` for a file and directories on the data directory's
/// filesystem, `fsync` otherwise, and no caller returns before a flush that began after it.
@Suite struct DurableSyncTests {
    let fixture: StoreFixture

    init() throws {
        fixture = try StoreFixture()
    }

    /// A new file in the data directory, open for writing.
    func newFile(_ name: String) throws -> (Int32, String) {
        let path = fixture.dataPath + "/" + name
        return (try FileSystem.createFile(path), path)
    }

    @Test func filesystemModeFlushesOnceForAFileAndItsDirectories() throws {
        let sync = try DurableSync(rootPath: fixture.dataPath, mode: .filesystem)
        let (fd, path) = try newFile("one")
        defer { FileSystem.close(fd) }
        try sync.sync(file: fd, path: path, directories: [fixture.dataPath, fixture.dataPath + "/spool"])
        try sync.sync(file: fd, path: path, directories: [fixture.dataPath])
        #expect(sync.filesystemSyncCount == 2)
    }

    @Test func filesModeNeverUsesSyncfs() throws {
        let sync = try DurableSync(rootPath: fixture.dataPath, mode: .files)
        let (fd, path) = try newFile("one")
        defer { FileSystem.close(fd) }
        try sync.sync(file: fd, path: path, directories: [fixture.dataPath])
        #expect(sync.filesystemSyncCount == 0)
    }

    @Test func aDirectoryOnAnotherFilesystemFallsBackToFsync() throws {
        var root = stat(), shm = stat()
        guard stat(fixture.dataPath, &root) == 0, stat("/dev/shm", &shm) == 0, root.st_dev != shm.st_dev else { return }
        let sync = try DurableSync(rootPath: fixture.dataPath, mode: .filesystem)
        let (fd, path) = try newFile("one")
        defer { FileSystem.close(fd) }
        try sync.sync(file: fd, path: path, directories: [fixture.dataPath, "/dev/shm"])
        #expect(sync.filesystemSyncCount == 0)
    }

    @Test func callersWaitingDuringAFlushShareTheNextOne() throws {
        // The first flush blocks until released; eight callers arrive while it runs. None
        // may count on it (their writes may be later than its start), and all of them are
        // served by one flush after it: two in all.
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let flushes = Atomic<Int>(0)
        let sync = try DurableSync(rootPath: fixture.dataPath, mode: .filesystem) { _ in
            if flushes.add(1, ordering: .relaxed).newValue == 1 {
                entered.signal()
                release.wait()
            }
            return nil
        }
        let (fd, path) = try newFile("one")
        defer { FileSystem.close(fd) }
        let done = Atomic<Int>(0)
        let first = Thread {
            try? sync.sync(file: fd, path: path, directories: [])
            done.add(1, ordering: .relaxed)
        }
        first.start()
        entered.wait()
        let waiting = DispatchGroup()
        waiting.enter()
        Thread {
            onThreads(8) { _ in
                try? sync.sync(file: fd, path: path, directories: [])
                done.add(1, ordering: .relaxed)
            }
            waiting.leave()
        }.start()
        // All eight are queued behind the running flush, and none has returned.
        while sync.waitingForFilesystemSync < 8 { sched_yield() }
        #expect(done.load(ordering: .relaxed) == 0)
        release.signal()
        waiting.wait()
        while done.load(ordering: .relaxed) < 9 { sched_yield() }
        #expect(flushes.load(ordering: .relaxed) == 2)
        #expect(sync.filesystemSyncCount == 2)
    }

    @Test func aFailedFlushFailsItsCallersOnly() throws {
        let failNext = Atomic<Bool>(true)
        let sync = try DurableSync(rootPath: fixture.dataPath, mode: .filesystem) { _ in
            failNext.exchange(false, ordering: .relaxed) ? EIO : nil
        }
        let (fd, path) = try newFile("one")
        defer { FileSystem.close(fd) }
        #expect(throws: StoreError.self) { try sync.sync(file: fd, path: path, directories: []) }
        try sync.sync(file: fd, path: path, directories: [])
    }

    @Test func aDeliveryTooBigForTheJournalFlushesOnceBeforeItsCommit() throws {
        try fixture.host("acme.test", "support")
        let store = fixture.store
        let before = store.durableSync.filesystemSyncCount
        let stored = try fixture.deliver(unjournalledMessage(), to: ["support@acme.test"], chunk: 64 * 1024)
        #expect(stored.count == 1)
        #expect(store.durableSync.filesystemSyncCount == before + 1)
        #expect(try store.journal.entries().isEmpty)
    }

    /// Runs `operation` on a store whose flush blocks until released, and checks that no
    /// row is visible before the flush ends and one is after.
    func expectCommitAfterFlush(_ operation: @escaping @Sendable (MailStore) throws -> Void) throws {
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let store = try fixture.storeFlushing { _ in
            entered.signal()
            release.wait()
            return nil
        }
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        Thread {
            do { try operation(store) } catch { failure.withLock { $0 = error } }
            done.signal()
        }.start()
        entered.wait()
        usleep(100_000)  // the operation's statements run meanwhile; it must not commit
        #expect(try store.messages(mailboxPath: "maildir/acme.test/support").isEmpty)
        release.signal()
        done.wait()
        #expect(failure.withLock { $0 } == nil)
        #expect(try store.messages(mailboxPath: "maildir/acme.test/support").count == 1)
    }

    @Test func theIndexCommitsOnlyAfterTheFlush() throws {
        try expectCommitAfterFlush { store in try deliverSample(store, unjournalledMessage()) }
    }

    @Test func anAppendCommitsOnlyAfterTheFlush() throws {
        try expectCommitAfterFlush { store in
            _ = try store.append(unjournalledMessage(), to: try sharedMailbox(store), flags: MessageFlags(), internalDate: Date())
        }
    }

    @Test func aFailedFlushStoresNothing() throws {
        let store = try fixture.storeFlushing { _ in EIO }
        #expect(throws: StoreError.self) { try deliverSample(store, unjournalledMessage()) }
        #expect(try store.messages(mailboxPath: "maildir/acme.test/support").isEmpty)
        let maildir = fixture.flushingPath + "/maildir/acme.test/support"
        for folder in ["tmp", "new", "cur"] {
            #expect(try FileSystem.contents(of: maildir + "/" + folder).isEmpty)
        }
        #expect(try FileSystem.contents(of: fixture.flushingPath + "/spool").isEmpty)
    }
}
