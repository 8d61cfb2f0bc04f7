import GRDB
import PostgateMaildir

/// Copies of delivered replies for the session's thread, stored after delivery and before
/// the message file is removed (at least once: a crash in between stores it again, and the
/// store keeps one copy per Message-ID and content).
extension OutboundQueue {
    /// Up to `limit` replies whose copy is due: every recipient settled, one delivered.
    /// Replies that reached nobody need none; they are marked done here.
    public func pendingThreadCopies(limit: Int = 20) throws(StoreError) -> [OutboundThreadCopy] {
        let (due, finished): ([OutboundThreadCopy], [String]) = try database.write { db in
            let rows = try Row.fetchAll(db, cachedSQL: """
                SELECT m.id, m.filename, m.mail_from, m.agent, m.session_id,
                       SUM(r.state IN ('queued', 'deferred')) AS pending, SUM(r.state = 'delivered') AS delivered
                FROM outbound_message m JOIN outbound_recipient r ON r.message_id = m.id
                WHERE m.thread_copy = 1 AND m.lease_owner IS NULL GROUP BY m.id HAVING pending = 0 ORDER BY m.id LIMIT ?
                """, arguments: [limit])
            var due: [OutboundThreadCopy] = []
            var finished: [String] = []
            for row in rows {
                let id: Int64 = row["id"]
                if (row["delivered"] as Int) > 0 {
                    due.append(OutboundThreadCopy(messageID: id, path: directoryPath + "/" + (row["filename"] as String), sender: row["mail_from"],
                                               agent: row["agent"], sessionID: row["session_id"]))
                } else if let file = try Self.markThreadCopied(id, db) {
                    finished.append(file)
                }
            }
            return (due, finished)
        }
        for file in finished { try FileSystem.unlink(directoryPath + "/" + file) }
        return due
    }

    /// Marks the copy of `copy` stored; removes the file once nothing else needs it.
    public func markThreadCopied(_ copy: OutboundThreadCopy) throws(StoreError) {
        let finishedFile = try database.write { db in try Self.markThreadCopied(copy.messageID, db) }
        if let finishedFile { try FileSystem.unlink(directoryPath + "/" + finishedFile) }
    }

    private static func markThreadCopied(_ id: Int64, _ db: Database) throws -> String? {
        try db.execute(cachedSQL: "UPDATE outbound_message SET thread_copy = 2 WHERE id = ?", arguments: [id])
        return try markFileRemovedIfDone(id, db)
    }
}
