import GRDB

extension SQLiteDatabase {
    /// Copies of replies for the provider mailbox's Sent folder (IMAP APPEND, RFC 9051 section
    /// 6.3.12), for replies sent through a sending gateway that saves to Sent.
    ///
    /// `sent_copy` is 1 from before the first attempt through the gateway until the copy is
    /// appended (2), or found unnecessary because no recipient got the reply (2), or given up
    /// after too many failed attempts (3); 0: none wanted. While it is 1 the message file is
    /// kept. A failed attempt counts in `sent_copy_attempts`, waits until `sent_copy_next_at`
    /// and leaves its reason in `sent_copy_error`.
    package static func registerSentCopySchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("outbound-sent-copy-v1") { db in
            try db.execute(sql: """
                ALTER TABLE outbound_message ADD COLUMN sent_copy INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE outbound_message ADD COLUMN sent_copy_attempts INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE outbound_message ADD COLUMN sent_copy_next_at REAL;
                ALTER TABLE outbound_message ADD COLUMN sent_copy_error TEXT;
                """)
        }
    }
}
