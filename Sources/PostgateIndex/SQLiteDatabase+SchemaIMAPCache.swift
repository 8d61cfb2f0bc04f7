import GRDB

extension SQLiteDatabase {
    /// IMAP's fetch cache: ENVELOPE, BODYSTRUCTURE and BODY of a message as FETCH
    /// writes them (RFC 9051 section 7.5.2), so a client listing a mailbox does not make the
    /// server read and parse every message file each time (Dovecot's `dovecot.index.cache`).
    ///
    /// Filled on first use, a batch at a time; a row goes with its message (`ON DELETE
    /// CASCADE`), and message files never change, so a row is never stale. Dropping every
    /// row is always safe: they are computed again from the files.
    ///
    /// `message_imap_summary` covers what SELECT reads of every message (UID, flags, size,
    /// date, file name), so a SELECT reads a compact index instead of every full row.
    package static func registerIMAPCacheSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("imap-cache-v1") { db in
            try db.execute(sql: """
                CREATE TABLE message_cache (
                    message_id INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
                    envelope BLOB NOT NULL,
                    body_structure BLOB NOT NULL,
                    body BLOB NOT NULL
                );
                CREATE INDEX message_imap_summary ON message(mailbox_id, uid, flags, keywords, size, internal_date, filename);
                """)
        }
    }

    /// IMAP's PREVIEW (RFC 8970) of each message, kept as the fetch cache is: made from the
    /// file by the first FETCH PREVIEW, gone with its message, never stale, safe to drop.
    package static func registerPreviewSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("imap-preview-v1") { db in
            try db.execute(sql: """
                CREATE TABLE message_preview (
                    message_id INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
                    preview TEXT NOT NULL
                );
                """)
        }
    }
}
