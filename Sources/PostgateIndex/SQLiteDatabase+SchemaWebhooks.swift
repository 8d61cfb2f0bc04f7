import GRDB

extension SQLiteDatabase {
    /// Webhook subscriptions (the signing secret sealed) and the outbox of their events:
    /// one row per event and subscription, written in the transaction that made the event
    /// happen, removed from the due set only once the subscriber has acknowledged it.
    package static func registerWebhookSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("webhooks-v1") { db in
            try db.execute(sql: """
                CREATE TABLE webhook (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    url TEXT NOT NULL,
                    events TEXT NOT NULL,
                    secret TEXT NOT NULL,
                    enabled INTEGER NOT NULL DEFAULT 1,
                    created_at REAL NOT NULL
                );
                CREATE TABLE webhook_outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    webhook_id INTEGER NOT NULL REFERENCES webhook(id) ON DELETE CASCADE,
                    event_id TEXT NOT NULL UNIQUE,
                    event_type TEXT NOT NULL,
                    session_id INTEGER,
                    mailbox_path TEXT,
                    uid INTEGER,
                    queue TEXT,
                    outbound_id INTEGER,
                    recipient TEXT,
                    detail TEXT,
                    created_at REAL NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    last_status INTEGER,
                    last_error TEXT,
                    delivered_at REAL
                );
                CREATE INDEX webhook_outbox_due ON webhook_outbox(state, next_attempt_at);
                CREATE INDEX webhook_outbox_order ON webhook_outbox(webhook_id, session_id, id) WHERE state = 'pending';
                """)
        }
    }
}
