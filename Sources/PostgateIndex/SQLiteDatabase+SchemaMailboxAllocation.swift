import GRDB

extension SQLiteDatabase {
    /// The highest UIDVALIDITY and mailbox row id ever handed out, kept apart from the
    /// `mailbox` rows so that neither comes back after a mailbox is removed.
    ///
    /// A mailbox deleted and made again under the same name must get a UIDVALIDITY it never
    /// had (RFC 9051 section 2.3.1.1: a client that cached the old one must not take the new
    /// mailbox's UIDs for the old ones), even within the same second; and a new mailbox row
    /// must not reuse the id of a removed one, which caches keyed by mailbox id (SELECT's
    /// summaries, the change feed's versions) may still name.
    package static func registerMailboxAllocationSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("mailbox-allocation-v1") { db in
            try db.execute(sql: """
                CREATE TABLE mailbox_allocation (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    last_uid_validity INTEGER NOT NULL,
                    last_mailbox_id INTEGER NOT NULL
                );
                INSERT INTO mailbox_allocation (id, last_uid_validity, last_mailbox_id)
                SELECT 1, coalesce(max(uid_validity), 0), coalesce(max(id), 0) FROM mailbox;
                """)
        }
    }
}

extension SQLiteDatabase {
    /// `\Recent` (RFC 3501 section 2.3.2): `mailbox.recent_uid` is the highest UID that a
    /// session has already seen as recent. The first session to select the mailbox (or to
    /// be told of a new message while it has it selected) takes the UIDs above it as its
    /// recent messages and raises it, in one transaction, so exactly one session sees each
    /// message as recent. Existing mailboxes start with nothing recent.
    package static func registerRecentSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("recent-v1") { db in
            try db.execute(sql: """
                ALTER TABLE mailbox ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
                UPDATE mailbox SET recent_uid = uid_next - 1;
                """)
        }
    }
}
