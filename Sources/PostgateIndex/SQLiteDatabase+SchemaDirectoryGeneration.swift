import GRDB

extension SQLiteDatabase {
    /// The directory generation: one counter that every change to the tables the delivery
    /// path reads (domains, addresses, aliases, settings and drafts, publications, queues,
    /// filters, blocklists, quarantine mailboxes) bumps, by trigger, in the changing
    /// transaction, whichever process makes it. `DirectoryCache` keeps what it read only while
    /// the counter stays the same, so a change by `postgate address …` in another process
    /// reaches the next message of a running server.
    package static func registerDirectoryGenerationSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("directory-generation-v1") { db in
            try db.execute(sql: """
                CREATE TABLE directory_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
                INSERT INTO directory_generation (id, value) VALUES (1, 0);
                """)
            for table in directoryTables {
                for event in ["INSERT", "UPDATE", "DELETE"] {
                    try db.execute(sql: bumpTrigger(table: table, event: event))
                }
            }
            // A mailbox row changes on every delivery (uid_next); only its creation and removal
            // matter to the directory.
            for event in ["INSERT", "DELETE"] {
                try db.execute(sql: bumpTrigger(table: "mailbox", event: event))
            }
        }
    }

    package static let directoryTables = [
        "domain", "address", "alias", "address_draft", "publication", "queue", "filter", "blocklist", "quarantine_mailbox",
    ]

    static func bumpTrigger(table: String, event: String) -> String {
        """
        CREATE TRIGGER directory_generation_\(table)_\(event.lowercased()) AFTER \(event) ON \(table)
        BEGIN UPDATE directory_generation SET value = value + 1 WHERE id = 1; END
        """
    }
}
