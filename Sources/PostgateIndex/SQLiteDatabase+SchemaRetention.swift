import GRDB

extension SQLiteDatabase {
    /// Retention: days an address keeps its messages and closed sessions (NULL: for ever).
    package static func registerRetentionSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("address-retention-v1") { db in
            try db.execute(sql: """
                ALTER TABLE address ADD COLUMN retention_days INTEGER;
                CREATE INDEX IF NOT EXISTS message_internal_date ON message(mailbox_id, internal_date);
                """)
        }
    }
}
