import Foundation
import GRDB
import PostgateMaildir

/// Thread facts for composing replies, read from the message index of the same database.
extension OutboundQueue {
    /// The newest stored message with Message-ID `messageID` (with or without angle
    /// brackets) in the mailbox at `mailboxPath`, or nil.
    public func replyParent(messageID: String, mailboxPath: String) throws(StoreError) -> OutboundReplyParent? {
        let bare = messageID.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        return try database.read { db in
            try Row.fetchOne(db, cachedSQL: """
                SELECT m.message_id, m."references", m.session_id FROM message m JOIN mailbox b ON b.id = m.mailbox_id
                WHERE m.message_id IN (?, ?) AND b.path = ? ORDER BY m.id DESC LIMIT 1
                """, arguments: ["<\(bare)>", bare, mailboxPath]).map {
                OutboundReplyParent(messageID: $0["message_id"], references: $0["references"], sessionID: $0["session_id"])
            }
        }
    }

    /// Whether a reply in `sessionID` was queued before (the contact card goes only with the
    /// first); auto-replies do not count.
    public func hasReply(sessionID: Int64) throws(StoreError) -> Bool {
        try database.read { db in
            try Bool.fetchOne(db, cachedSQL: """
                SELECT EXISTS (SELECT 1 FROM outbound_message WHERE session_id = ? AND auto_reply IS NULL)
                """, arguments: [sessionID]) ?? false
        }
    }
}
