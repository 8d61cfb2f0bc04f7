import Foundation
import GRDB
import PostgateMaildir

/// Failed recipients waiting for their delivery status notification.
///
/// A failure is recorded first (`record`), notified after: a crash in between leaves the
/// recipient `failed` with `notified = 0`, and the next pass notifies it, so a failure is
/// reported at least once and the message file is kept until it has been.
extension OutboundQueue {
    /// Up to `limit` messages with failed recipients not yet notified, oldest first.
    public func pendingFailureReports(limit: Int = 20) throws(StoreError) -> [OutboundFailureReport] {
        try database.read { db in
            let ids = try Int64.fetchAll(db, cachedSQL: """
                SELECT DISTINCT message_id FROM outbound_recipient WHERE state = 'failed' AND notified = 0
                ORDER BY message_id LIMIT ?
                """, arguments: [limit])
            return try ids.compactMap { id in try self.failureReport(id, db) }
        }
    }

    /// Marks the recipients of `report` notified; removes the file once nothing else needs it.
    public func markNotified(_ report: OutboundFailureReport) throws(StoreError) {
        let finishedFile: String? = try database.write { db in
            for recipient in report.recipients {
                try db.execute(cachedSQL: "UPDATE outbound_recipient SET notified = 1 WHERE id = ?", arguments: [recipient.id])
            }
            let leased = try Bool.fetchOne(db, cachedSQL: "SELECT lease_owner IS NOT NULL FROM outbound_message WHERE id = ?",
                                           arguments: [report.messageID]) ?? false
            return leased ? nil : try Self.markFileRemovedIfDone(report.messageID, db)
        }
        if let finishedFile { try FileSystem.unlink(directoryPath + "/" + finishedFile) }
    }

    private func failureReport(_ id: Int64, _ db: Database) throws -> OutboundFailureReport? {
        guard let message = try Row.fetchOne(db, cachedSQL: "SELECT * FROM outbound_message WHERE id = ?", arguments: [id]) else { return nil }
        let recipients = try Row.fetchAll(db, cachedSQL: """
            SELECT * FROM outbound_recipient WHERE message_id = ? AND state = 'failed' AND notified = 0 ORDER BY id
            """, arguments: [id]).map(Self.recipientRecord)
        return OutboundFailureReport(
            messageID: id, path: directoryPath + "/" + (message["filename"] as String), sender: message["mail_from"],
            createdAt: Date(timeIntervalSince1970: message["created_at"]), recipients: recipients, agent: message["agent"]
        )
    }
}
