import Foundation

/// Guards on the index file before SQLite opens it: SQLite takes an empty file for a new
/// database and would start a blank install over a data directory full of mail.
extension DataDirectory {
    /// Whether the data directory has been opened before: `session.key` is made at the
    /// first open and never removed by Postgate.
    package var hasBeenUsed: Bool {
        FileSystem.exists(absolute(SessionKeyFile.name))
    }

    /// Throws `.indexEmpty` when `postgate.sqlite` is an empty file (a truncated or replaced
    /// index) in a data directory that has been used; a new data directory is fine.
    package func requireIndexNotEmptied() throws(StoreError) {
        guard hasBeenUsed, FileSystem.exists(databasePath),
              try FileSystem.sizeAndModificationTime(databasePath).size == 0 else { return }
        throw .indexEmpty(dataDirectory: root)
    }

    /// `postgate check --repair` over an index SQLite cannot read: renames it (and its WAL
    /// and shared-memory files) to `postgate.sqlite.unreadable-<UTC time>`, kept for an
    /// expert to salvage, so that a new index can be built from the Maildirs.
    /// - Returns: the new name of the index file.
    package func setAsideUnreadableIndex(now: Date = Date()) throws(StoreError) -> String {
        let stamp = now.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeSeparator(.omitted)
            .dateSeparator(.omitted))
        let aside = databasePath + ".unreadable-" + stamp
        for suffix in ["-wal", "-shm", ""] where FileSystem.exists(databasePath + suffix) {
            try FileSystem.rename(databasePath + suffix, aside + suffix)
        }
        try FileSystem.syncDirectory(root)
        return aside
    }
}
