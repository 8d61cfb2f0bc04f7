/// One Maildir folder on disk: `tmp/`, `new/`, `cur/` and Postgate's `postgate-uidvalidity`.
///
/// Maildir (https://cr.yp.to/proto/maildir.html) delivers by writing the file under `tmp/`
/// and renaming it into `new/`: a reader never sees a partial message. Postgate also
/// records the mailbox's IMAP UIDVALIDITY (RFC 9051 section 2.3.1.1) in a file beside the
/// folders, and each message's UID in its file name, so the index can be rebuilt from the
/// Maildir without changing what IMAP clients have cached.
package struct Maildir: Sendable {
    /// Absolute (or working-directory relative) path of the Maildir.
    package let path: String

    package var tmp: String { path + "/tmp" }
    package var new: String { path + "/new" }
    package var cur: String { path + "/cur" }
    package var uidValidityPath: String { path + "/" + Self.uidValidityFileName }

    package static let uidValidityFileName = "postgate-uidvalidity"

    /// Creates the three folders (and any missing parent) and makes their names durable,
    /// up to the `maildir/` root: `DATA/maildir/<domain>/<local-part>`.
    package func create() throws(StoreError) {
        for folder in [tmp, new, cur] {
            try FileSystem.makeDirectories(folder)
        }
        var directory = path
        for _ in 0..<3 {
            try FileSystem.syncDirectory(directory)
            directory = parentPath(directory)
        }
    }

    /// The UIDVALIDITY written when the mailbox was created, if the file is there and valid.
    package func readUIDValidity() -> UInt32? {
        guard let bytes = try? FileSystem.read(uidValidityPath, limit: 32) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        return UInt32(text)
    }

    /// Writes (and fsyncs) the mailbox's UIDVALIDITY.
    package func writeUIDValidity(_ value: UInt32) throws(StoreError) {
        try FileSystem.writeDurably(Array("\(value)\n".utf8), to: uidValidityPath, directory: path)
    }

    // MARK: - Delivery

    /// Gives the spooled file a second name `tmp/<unique>` (same inode, no copy).
    package func linkIntoTmp(_ spoolFile: String, uniqueName: String) throws(StoreError) {
        try FileSystem.link(spoolFile, tmp + "/" + uniqueName)
    }

    /// Makes the names added to `tmp/` durable.
    package func syncTmp() throws(StoreError) {
        try FileSystem.syncDirectory(tmp)
    }

    /// Moves `tmp/<uniqueName>` to `new/<filename>`, the step that makes it visible, and
    /// makes the new name durable.
    /// Moves a delivered message from `tmp/` into `new/`. The rename is not fsynced: the
    /// message is durable already (its `tmp/` entry was synced and its index row committed),
    /// and if a crash loses the rename, `MailStore.recover()` repeats it from `tmp/`.
    package func publish(uniqueName: String, as filename: String) throws(StoreError) {
        try FileSystem.rename(tmp + "/" + uniqueName, new + "/" + filename)
    }

    package func syncNew() throws(StoreError) {
        try FileSystem.syncDirectory(new)
    }

    package func removeFromTmp(_ name: String) throws(StoreError) {
        try FileSystem.unlink(tmp + "/" + name)
    }

    /// The names in `tmp/`; a missing folder has none.
    package func tmpNames() throws(StoreError) -> [String] {
        guard FileSystem.isDirectory(tmp) else { return [] }
        return try FileSystem.contents(of: tmp)
    }

    /// The messages in `new/` and `cur/`, as (folder path, file name) pairs.
    package func messageFiles() throws(StoreError) -> [(folder: String, name: String)] {
        var files: [(folder: String, name: String)] = []
        for folder in [new, cur] where FileSystem.isDirectory(folder) {
            files += try FileSystem.contents(of: folder).map { (folder, $0) }
        }
        return files
    }

    private func parentPath(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
