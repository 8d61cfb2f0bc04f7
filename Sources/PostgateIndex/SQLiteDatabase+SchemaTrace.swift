import GRDB

extension SQLiteDatabase {
    /// Tracing: each row a delivery stored carries the queue id of its SMTP transaction or
    /// fetch (the id of the `250 Ok: queued as` reply, in the Received field and on every log
    /// line about the message), so `postgate trace` finds every copy of one message. Rows
    /// stored before, and those IMAP APPEND or COPY made, have none (partial index).
    package static func registerTraceSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("message-queue-id-v1") { db in
            try db.execute(sql: """
                ALTER TABLE message ADD COLUMN queue_id TEXT;
                CREATE INDEX message_queue_id ON message(queue_id) WHERE queue_id IS NOT NULL;
                """)
        }
    }
}
