import GRDB

extension SQLiteDatabase {
    /// Standard responses: shared answers agents use from their mail clients. Each is one
    /// message in a read-only mailbox (`responses/all`, or `responses/queues/<queue>` for
    /// those of one queue), and a row naming it.
    package static func registerResponsesSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("responses-v1") { db in
            try db.execute(sql: """
                CREATE TABLE response (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    subject TEXT NOT NULL,
                    queue TEXT,
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id),
                    uid INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    attachments TEXT NOT NULL DEFAULT '[]',
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL
                );
                """)
        }
    }
}
