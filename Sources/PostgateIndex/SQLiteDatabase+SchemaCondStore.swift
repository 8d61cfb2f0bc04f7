import GRDB

extension SQLiteDatabase {
    /// CONDSTORE (RFC 7162 section 3.1): a mod-sequence per message (`message.modseq`)
    /// and the highest one handed out per mailbox (`mailbox.highest_modseq`), kept in the
    /// index so clients may cache flags across sessions and restarts (no NOMODSEQ).
    ///
    /// Every change of a message's metadata (flags, a private `\Seen`, a new message by
    /// delivery, APPEND, COPY or MOVE) gives it `ModSequence.next(after:)` of its mailbox,
    /// and an expunge raises the mailbox's value: `max(highest + 1, now in microseconds)`.
    /// Values never go down, also when the index is rebuilt from the Maildir
    /// (`rebuildIndex`): a rebuilt mailbox restarts from the clock, above anything handed
    /// out before. Rows from before this migration keep the value 1 (RFC 7162's smallest).
    ///
    /// `message_imap_summary` is re-made with `modseq`, so SELECT still reads only the
    /// covering index.
    package static func registerCondStoreSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("condstore-v1") { db in
            try db.execute(sql: """
                ALTER TABLE message ADD COLUMN modseq INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE mailbox ADD COLUMN highest_modseq INTEGER NOT NULL DEFAULT 1;
                DROP INDEX message_imap_summary;
                CREATE INDEX message_imap_summary ON message(mailbox_id, uid, flags, keywords, modseq, size, internal_date, filename);
                """)
        }
    }
}
