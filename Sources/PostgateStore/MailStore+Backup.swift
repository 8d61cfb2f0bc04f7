import Foundation
import GRDB
import PostgateMaildir
import PostgateIndex

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `postgate backup` made, also kept in the backup as `postgate-backup.json`.
public struct BackupReport: Sendable, Codable, Equatable {
    /// Where the backup is.
    public var destination: String
    /// The moment of the index snapshot: every message acknowledged before it is in the backup.
    public var snapshotAt: Date
    /// Message rows in the snapshot, and of those, rows dropped because the message was
    /// expunged (its file removed) after the snapshot and before its file was copied.
    public var messages: Int
    public var expungedDuringCopy: Int
    /// Queued replies in the snapshot dropped because they were delivered (their file
    /// removed) before the copy reached them.
    public var outboundDoneDuringCopy: Int
    /// Files copied (hard links included) and their bytes.
    public var files: Int
    public var bytes: Int
}

/// Online backup and restore of a whole data directory while `postgate serve` runs.
///
/// 1. The index is copied with SQLite's online backup API, inside one read transaction of
///    the WAL: a consistent snapshot that never blocks deliveries.
/// 2. Then every other file (Maildirs, quarantine, queues, agents' folders, `outbound/`,
///    DKIM keys, `session.key`, `secret.key`, certificates) is copied, hard links kept.
///    A message committed before the snapshot has its file in the Maildir by then, or its
///    content in the delivery journal inside the snapshot, from which `serve` writes it
///    again at start (the same recovery as after a crash).
/// 3. Rows whose file vanished before it was copied (expunged, or a reply delivered) are
///    dropped from the copied index, so the backup is consistent on its own.
/// 4. Everything is flushed with one `syncfs(2)`, a `postgate-backup.json` written, and the
///    directory renamed from `DEST.partial-PID` to `DEST`: a backup that was interrupted
///    never has the final name.
extension MailStore {
    public static let backupMarker = "postgate-backup.json"

    /// Backs the data directory up into `destination`, which must not exist.
    /// - Parameter progress: files copied so far, of about `total`.
    public func backup(to destination: String, progress: @escaping (_ files: Int, _ total: Int) -> Void = { _, _ in }) throws(StoreError) -> BackupReport {
        let final = Self.trimmingSlash(destination)
        guard !FileSystem.exists(final) else { throw .invalidSetting("\(final) exists already; a backup goes into a new directory") }
        let staging = final + ".partial-\(getpid())"
        try? Self.removeTree(staging)
        guard mkdir(staging, 0o700) == 0 else { throw .posix("create directory", staging) }

        // 1. The index snapshot.
        let snapshotAt = Date()
        let copiedIndex = staging + "/postgate.sqlite"
        do {
            let target = try DatabaseQueue(path: copiedIndex)
            try database.pool.backup(to: target)
            try target.close()
            // The index holds sealed secrets and every address: for the service's user only.
            chmod(copiedIndex, 0o600)
        } catch {
            throw .database(path: copiedIndex, reason: "\(error)")
        }

        // 2. The files.
        var copy = DataDirectoryCopy(skip: Self.notCopied)
        let total = try copy.countFiles(under: data.root)
        copy.progress = { files, _ in progress(files, total) }
        try copy.copy(from: data.root, to: staging)

        // 3. Rows whose file the copy did not find.
        let (messages, expunged, delivered) = try Self.dropRowsWithoutFiles(indexPath: copiedIndex, root: staging)

        // 4. Durable, marked complete, and renamed into place.
        var report = BackupReport(destination: final, snapshotAt: snapshotAt, messages: messages, expungedDuringCopy: expunged,
                                  outboundDoneDuringCopy: delivered, files: copy.files, bytes: copy.bytes)
        try Self.finish(staging: staging, final: final) { () throws(StoreError) in
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            report.destination = final
            guard let json = try? encoder.encode(report) else { throw .invalidSetting("backup report not encodable") }
            try FileSystem.writeDurably(Array(json) + [0x0A], to: staging + "/" + Self.backupMarker, directory: staging, mode: 0o600)
        }
        return report
    }

    /// Copies the backup at `source` into `destination` (a new or empty directory), then
    /// indexes again files that have a UID but no row. `serve` on the result finishes
    /// what the snapshot's journal holds, as after a crash.
    /// - Returns: the backup's own report, and how many rows were added from the files.
    public static func restore(from source: String, to destination: String,
                               progress: @escaping (_ files: Int, _ total: Int) -> Void = { _, _ in }) throws(StoreError) -> (BackupReport, Int) {
        let source = trimmingSlash(source)
        let final = trimmingSlash(destination)
        guard let marker = try FileSystem.readIfPresent(source + "/" + backupMarker, limit: 1 << 20) else {
            throw .invalidSetting("\(source) is not a complete Postgate backup (no \(backupMarker)); an interrupted backup is named DEST.partial-PID")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let report = try? decoder.decode(BackupReport.self, from: Data(marker)) else {
            throw .invalidSetting("\(source)/\(backupMarker) is not a backup report")
        }
        if FileSystem.exists(final) {
            guard FileSystem.isDirectory(final), try FileSystem.contents(of: final).isEmpty else {
                throw .invalidSetting("\(final) exists and is not empty; restore into a new or empty directory")
            }
            try FileSystem.removeDirectory(final)
        }
        let staging = final + ".partial-\(getpid())"
        try? removeTree(staging)
        guard mkdir(staging, 0o700) == 0 else { throw .posix("create directory", staging) }
        var copy = DataDirectoryCopy(skip: { $0 == backupMarker })
        let total = try copy.countFiles(under: source)
        copy.progress = { files, _ in progress(files, total) }
        try copy.copy(from: source, to: staging)
        try finish(staging: staging, final: final) { () throws(StoreError) in }
        let store = try MailStore.open(directory: final)
        let added = try store.rebuildIndex()
        return (report, added)
    }

    /// The index and its WAL (copied by the backup API instead), the spool (messages not
    /// yet acknowledged) and leftovers of interrupted backups.
    private static func notCopied(_ relativePath: String) -> Bool {
        relativePath.hasPrefix("postgate.sqlite") || relativePath == "spool" || relativePath == backupMarker
            || relativePath == DataDirectory.serverProcessFile
    }

    /// Drops, in the copied index, message rows whose file is in none of the Maildir's
    /// folders (and whose content is not in the journal), and queued replies whose file
    /// is gone. Returns the rows there were and how many of each were dropped.
    private static func dropRowsWithoutFiles(indexPath: String, root: String) throws(StoreError) -> (Int, Int, Int) {
        do {
            let queue = try DatabaseQueue(path: indexPath)
            defer { try? queue.close() }
            return try queue.write { db in
                let journalled = Set(try String.fetchAll(db, sql: "SELECT unique_name FROM delivery_journal"))
                var present: [String: Set<String>] = [:]  // mailbox path → unique names on disk
                func uniqueNames(_ path: String) -> Set<String> {
                    if let known = present[path] { return known }
                    var names: Set<String> = []
                    for folder in ["new", "cur", "tmp"] {
                        let directory = root + "/" + path + "/" + folder
                        for name in (try? FileSystem.contents(of: directory)) ?? [] {
                            names.insert(MaildirFileName.uniqueName(of: name))
                        }
                    }
                    present[path] = names
                    return names
                }
                let rows = try Row.fetchAll(db, sql: """
                    SELECT message.id, message.filename, mailbox.path FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
                    """)
                var dropped: [Int64] = []
                for row in rows {
                    let unique = MaildirFileName.uniqueName(of: row["filename"])
                    if !uniqueNames(row["path"]).contains(unique) && !journalled.contains(unique) {
                        dropped.append(row["id"])
                    }
                }
                for id in dropped {
                    try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [id])
                }
                var delivered = 0
                for row in try Row.fetchAll(db, sql: "SELECT id, filename FROM outbound_message") {
                    let name: String = row["filename"]
                    if !FileSystem.exists(root + "/outbound/" + name) {
                        try db.execute(sql: "DELETE FROM outbound_message WHERE id = ?", arguments: [row["id"] as Int64])
                        delivered += 1
                    }
                }
                return (rows.count, dropped.count, delivered)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .database(path: indexPath, reason: "\(error)")
        }
    }

    /// Flushes the staging directory's filesystem, lets `mark` write what says the copy is
    /// whole, and renames the staging directory to its final name durably.
    private static func finish(staging: String, final: String, mark: () throws(StoreError) -> Void) throws(StoreError) {
        let fd = Glibc.open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix("open directory", staging) }
        defer { FileSystem.close(fd) }
        if let code = FilesystemFlusher.syncFilesystem(fd) { throw .posix("syncfs", staging, errno: code) }
        try mark()
        try FileSystem.rename(staging, final)
        try FileSystem.syncDirectory(parent(of: final))
    }

    private static func removeTree(_ path: String) throws {
        guard FileSystem.exists(path) else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    private static func trimmingSlash(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
