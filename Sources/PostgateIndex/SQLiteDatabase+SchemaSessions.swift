import GRDB

extension SQLiteDatabase {
    /// Sessions and threads: the session tables (the address's `session_mode` is a
    /// channel setting, see `SQLiteDatabase+SchemaChannels`), and
    /// per message its session, the Outlook Thread-Index root and a content digest (for
    /// duplicate detection). A session belongs to the address's mailbox, which outlives
    /// the address (removing and adding it again keeps its mail and its sessions).
    package static func registerSessionsSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("sessions-v1") { db in
            try db.execute(sql: """
                CREATE TABLE session (
                    id INTEGER PRIMARY KEY,
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id),
                    customer TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
                    mode TEXT NOT NULL,
                    subject TEXT,
                    started_at REAL NOT NULL,
                    last_activity_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    previous_session_id INTEGER REFERENCES session(id)
                );
                CREATE INDEX session_customer ON session(mailbox_id, customer, last_activity_at);
                CREATE TABLE session_participant (
                    session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
                    email TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('customer', 'participant')),
                    added_at REAL NOT NULL,
                    PRIMARY KEY (session_id, email)
                );
                ALTER TABLE message ADD COLUMN session_id INTEGER REFERENCES session(id);
                ALTER TABLE message ADD COLUMN session_reason TEXT;
                ALTER TABLE message ADD COLUMN thread_index_root TEXT;
                ALTER TABLE message ADD COLUMN content_digest TEXT;
                CREATE INDEX message_session ON message(session_id);
                CREATE INDEX message_thread_index ON message(thread_index_root);
                """)
        }
        // Duplicate detection and thread lookups ask for a Message-ID within one mailbox. With
        // only `message_message_id` and `message_filename (mailbox_id, filename)`, SQLite's
        // planner (no ANALYZE statistics) chose the mailbox's filename index and scanned the
        // whole mailbox for every delivery, so delivery slowed as the mailbox grew. Each delivery
        // also finds the address of a mailbox (its session mode, its blocklist). Every lookup by
        // Message-ID names the mailbox, so the index on the Message-ID alone only cost inserts.
        // Most rows have no Thread-Index and queue copies no session: partial indexes skip them
        // (every lookup asks for a value, which implies IS NOT NULL).
        migrator.registerMigration("sessions-v2") { db in
            try db.execute(sql: """
                CREATE INDEX message_mailbox_message_id ON message(mailbox_id, message_id);
                DROP INDEX message_message_id;
                DROP INDEX message_session;
                CREATE INDEX message_session ON message(session_id) WHERE session_id IS NOT NULL;
                DROP INDEX message_thread_index;
                CREATE INDEX message_thread_index ON message(thread_index_root) WHERE thread_index_root IS NOT NULL;
                CREATE INDEX address_mailbox ON address(mailbox_id);
                """)
        }
    }
}
