import GRDB
import PostgateMaildir

/// What a message's object identifiers (RFC 8474) are made of: the unique name of the file
/// it was first stored as, the same in every copy (EMAILID), and its session (THREADID),
/// nil for a message in no session.
public struct MessageObjectKeys: Sendable, Equatable {
    public var emailKey: String
    public var sessionID: Int64?

    public init(emailKey: String, sessionID: Int64?) {
        self.emailKey = emailKey
        self.sessionID = sessionID
    }
}

extension SQLiteMessageIndex {
    package func objectKeys(mailboxID: Int64, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: MessageObjectKeys] {
        try database.read { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT uid, email_key, filename, coalesce(thread_key, session_id) FROM message
                WHERE mailbox_id = ? AND uid BETWEEN ? AND ?
                """), arguments: [mailboxID, uids.lowerBound, uids.upperBound])
            var keys: [UInt32: MessageObjectKeys] = [:]
            while let row = try rows.next() {
                let key = row[1] as String? ?? MaildirFileName.uniqueName(of: row[2])
                keys[row[0]] = MessageObjectKeys(emailKey: key, sessionID: row[3])
            }
            return keys
        }
    }
}
