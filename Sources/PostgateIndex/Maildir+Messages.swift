import PostgateMaildir
/// Finding, re-flagging and removing delivered files: `new/<name>` until a flag is set,
/// then `cur/<name>:2,<letters>` (the Maildir convention for seen-by-a-client messages).
extension Maildir {
    /// The current path of the message `filename` whose file carries `letters`, or nil.
    package func locate(_ filename: String, letters: String) -> String? {
        if let found = likelyPaths(filename, letters: letters).first(where: FileSystem.exists) { return found }
        // Renamed by another Maildir client: any `cur/<name>:2,…`.
        let prefix = filename + ":2,"
        let names = (try? FileSystem.contents(of: cur)) ?? []
        return names.first { $0.hasPrefix(prefix) }.map { cur + "/" + $0 }
    }

    /// Where a message file with `letters` is, most likely first: a message without flags
    /// stays in `new/` until a flag moves it into `cur/` (`setLetters`).
    package func likelyPaths(_ filename: String, letters: String) -> [String] {
        let inCur = cur + "/" + filename + ":2," + letters, inNew = new + "/" + filename
        return letters.isEmpty ? [inNew, inCur] : [inCur, inNew]
    }

    /// The whole message file (at most `limit` bytes), or nil if it is gone. The likely
    /// paths are opened directly, without a check first (FETCH BODY[] of many messages).
    ///
    /// A message whose index row is committed may still be in `tmp/` under its unique name:
    /// the rename into `new/` follows the SMTP reply. It is read from there, so a FETCH in
    /// that moment returns it as the index says it exists.
    package func read(_ filename: String, letters: String, limit: Int) throws(StoreError) -> [UInt8]? {
        for path in likelyPaths(filename, letters: letters) {
            if let bytes = try FileSystem.readIfPresent(path, limit: limit) { return bytes }
        }
        if let bytes = try FileSystem.readIfPresent(tmp + "/" + MaildirFileName.uniqueName(of: filename), limit: limit) { return bytes }
        guard let path = locate(filename, letters: letters) else { return nil }
        return try FileSystem.readIfPresent(path, limit: limit)
    }

    /// Moves the message into `cur/` with the info part for `letters`.
    package func setLetters(_ filename: String, from oldLetters: String, to letters: String) throws(StoreError) {
        guard let path = locate(filename, letters: oldLetters) else { return }
        let target = cur + "/" + filename + ":2," + letters
        if path != target { try FileSystem.rename(path, target) }
    }

    /// Removes the message file (its other names, in other mailboxes, stay).
    package func remove(_ filename: String, letters: String) throws(StoreError) {
        guard let path = locate(filename, letters: letters) else { return }
        try FileSystem.unlink(path)
    }

    /// Recovery of a journalled message (`DeliveryJournal`): writes `bytes` as the message
    /// `filename` where it is (`new/`, or `cur/` with its info part) or into `new/` if it is
    /// gone, through `tmp/<uniqueName>.journal`, durably.
    package func rewrite(_ filename: String, uniqueName: String, with bytes: [UInt8]) throws(StoreError) {
        let target = locate(filename, letters: "") ?? new + "/" + filename
        let scratch = tmp + "/" + uniqueName + ".journal"
        try? FileSystem.unlink(scratch)
        let fd = try FileSystem.createFile(scratch)
        do throws(StoreError) {
            try FileSystem.writeAll(fd, bytes, path: scratch)
            try FileSystem.sync(fd, path: scratch)
            FileSystem.close(fd)
        } catch {
            FileSystem.close(fd)
            try? FileSystem.unlink(scratch)
            throw error
        }
        try FileSystem.rename(scratch, target)
        try FileSystem.syncDirectory(target.hasPrefix(cur + "/") ? cur : new)
    }

    /// Hard-links an existing message file into `tmp/<uniqueName>` (COPY, MOVE).
    package func linkCopy(from path: String, uniqueName: String) throws(StoreError) {
        try FileSystem.link(path, tmp + "/" + uniqueName)
    }

    /// Removes the whole Maildir (a deleted personal folder): its files, then its folders.
    package func removeAll() throws(StoreError) {
        for folder in [tmp, new, cur] where FileSystem.isDirectory(folder) {
            for name in try FileSystem.contents(of: folder) { try FileSystem.unlink(folder + "/" + name) }
            try FileSystem.removeDirectory(folder)
        }
        try FileSystem.unlink(uidValidityPath)
        try FileSystem.removeDirectory(path)
    }
}
