import GRDB

extension SQLiteDatabase {
    /// `message_search`: the decoded, case-folded text IMAP SEARCH matches
    /// (`MessageSearchText`), a row per message, so that SEARCH does not decode every
    /// message file each time. Filled from the files the first time a search needs a
    /// message's row; a row goes with its message (`ON DELETE CASCADE`), and message files
    /// never change, so a row is never stale. Dropping rows is always safe.
    ///
    /// The same migration drops the fetch cache, made before ENVELOPE took names from
    /// address comments and defaulted an empty Sender and Reply-To to From, and before
    /// BODYSTRUCTURE gave text parts their default charset.
    package static func registerSearchTextSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("search-text-v1") { db in
            try db.execute(sql: """
                CREATE TABLE message_search (
                    message_id INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
                    subject TEXT NOT NULL,
                    from_field TEXT NOT NULL,
                    to_field TEXT NOT NULL,
                    cc TEXT NOT NULL,
                    bcc TEXT NOT NULL,
                    header TEXT NOT NULL,
                    body TEXT NOT NULL,
                    complete INTEGER NOT NULL
                );
                DELETE FROM message_cache;
                """)
        }
        // The address and subject columns again, in an index narrow enough that a SEARCH
        // FROM, TO, CC, BCC or SUBJECT reads a page per few dozen messages, not the page or
        // more that each row's header and body text fill (`searchUIDs` names it).
        migrator.registerMigration("search-text-fields-v1") { db in
            try db.execute(sql: """
                CREATE INDEX message_search_fields ON message_search(message_id, subject, from_field, to_field, cc, bcc)
                """)
        }
    }
}
