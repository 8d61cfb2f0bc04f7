import GRDB

extension SQLiteDatabase {
    /// What IMAP's object identifiers (RFC 8474) are made from, kept where a copy can carry it.
    ///
    /// `email_key`: the Maildir unique name of the file the message was first stored as;
    /// NULL for that first row itself (its own file name says it). A COPY or MOVE writes
    /// the source's key into the new row, so EMAILID stays the same (RFC 8474 section 5.1).
    ///
    /// `thread_key`: the session of the message a copy was made from; NULL for a row that
    /// is not a copy, whose `session_id` says it. THREADID is the session's (section 5.2),
    /// in the agent's own folders too.
    package static func registerObjectIDSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("object-ids-v1") { db in
            try db.execute(sql: """
                ALTER TABLE message ADD COLUMN email_key TEXT;
                ALTER TABLE message ADD COLUMN thread_key INTEGER;
                """)
        }
    }
}
