import GRDB

extension SQLiteDatabase {
    /// Auto-replies (RFC 3834): each address's two auto-replies (in and out of working hours,
    /// each switched on or off with a text and an HTML template), the period between two to
    /// one customer (NULL: once per session) and the hourly cap per sender (NULL: the
    /// gateway's default). On the outbound queue, `auto_reply` marks a queued auto-reply
    /// with its kind (`in` | `out`; NULL for an agent's reply): the limits, the first-reply
    /// rules and the report read it.
    package static func registerAutoReplySchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("auto-replies-v1") { db in
            try db.execute(sql: """
                ALTER TABLE address ADD COLUMN auto_reply_in_enabled INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE address ADD COLUMN auto_reply_in_text TEXT;
                ALTER TABLE address ADD COLUMN auto_reply_in_html TEXT;
                ALTER TABLE address ADD COLUMN auto_reply_out_enabled INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE address ADD COLUMN auto_reply_out_text TEXT;
                ALTER TABLE address ADD COLUMN auto_reply_out_html TEXT;
                ALTER TABLE address ADD COLUMN auto_reply_period_hours INTEGER;
                ALTER TABLE address ADD COLUMN auto_reply_hourly_cap INTEGER;
                ALTER TABLE outbound_message ADD COLUMN auto_reply TEXT;
                CREATE INDEX outbound_message_auto_reply ON outbound_message(mail_from, created_at) WHERE auto_reply IS NOT NULL;
                """)
        }
    }
}
