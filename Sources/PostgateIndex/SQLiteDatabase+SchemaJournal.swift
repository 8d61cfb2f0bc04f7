import GRDB

extension SQLiteDatabase {
    /// The delivery journal (`DeliveryJournal`): the content of a message that fits in
    /// memory, committed in the same transaction as its index rows, so the one WAL commit
    /// makes the message durable and the Maildir file can be flushed later, in batches.
    ///
    /// A row lives from the delivery's commit until a later flush has made the Maildir
    /// files durable; after a crash, `MailStore.recover()` rewrites the files of the rows
    /// left. `mailbox_ids` lists (comma-separated) the mailboxes that got a copy.
    ///
    /// `unique_name` has no index: the table holds only the last moments' deliveries, and
    /// an index would cost every delivery one more page in its commit.
    package static func registerJournalSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("journal-v1") { db in
            try db.execute(sql: """
                CREATE TABLE delivery_journal (
                    id INTEGER PRIMARY KEY,
                    unique_name TEXT NOT NULL,
                    mailbox_ids TEXT NOT NULL,
                    content BLOB NOT NULL
                );
                """)
        }
    }
}
