import GRDB

extension SQLiteDatabase {
    /// What SELECT needs to bring a cached mailbox summary (`MailboxSummaryCache`) up to
    /// date by reading only what changed, instead of every message:
    ///
    /// - `message_modseq` finds and covers the messages changed after a mod-sequence (every
    ///   change of a message gives it a new one, RFC 7162 section 3.1.1), in UID order within
    ///   each mod-sequence.
    /// - `mailbox.expunge_modseq`: at least the HIGHESTMODSEQ of the mailbox when a message
    ///   row last left it, set by trigger on every `DELETE FROM message` (EXPUNGE, MOVE,
    ///   CLOSE, quarantine removal, folder removal, any process), so a removal, which
    ///   leaves no row to find, is never missed: a summary cached at a mod-sequence not
    ///   above it is read again whole.
    package static func registerSelectRefreshSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("select-refresh-v1") { db in
            try db.execute(sql: """
                ALTER TABLE mailbox ADD COLUMN expunge_modseq INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX message_modseq ON message(mailbox_id, modseq, uid, flags, keywords);
                CREATE TRIGGER message_expunge_modseq AFTER DELETE ON message
                BEGIN
                    UPDATE mailbox SET expunge_modseq = highest_modseq
                    WHERE id = OLD.mailbox_id AND expunge_modseq < highest_modseq;
                END;
                """)
        }
    }
}
