import GRDB

extension SQLiteDatabase {
    /// The outbound delivery queue: one row per queued message, one per recipient.
    ///
    /// A recipient's state is `queued` (never tried), `deferred` (a temporary failure, retried
    /// at `next_attempt_at`), `delivered` (a server answered 250; `last_reply` holds its reply)
    /// or `failed` (a permanent failure or the lifetime ran out; `last_reply` says why). The
    /// message file lives in `DATA/outbound/<filename>` until no recipient is left to try
    /// and every failed one is `notified` (its delivery status notification, which quotes
    /// the message's header, is stored).
    /// `lease_owner`/`lease_until` mark a message a worker is delivering, so two workers on
    /// one data directory never send it at once. `session_id` is the session a reply
    /// belongs to (its first reply gets the contact card); `thread_copy` is 1 while the copy
    /// of a delivered reply is still to be stored in the sender address's mailbox (the
    /// session's thread), 2 once it is (0: none wanted). `agent` is the agent who sent it:
    /// its notifications go to that agent's INBOX, its delivered copy to its Sent folder.
    package static func registerOutboundMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("outbound-v1") { db in
            try db.execute(sql: """
                CREATE TABLE outbound_message (
                    id INTEGER PRIMARY KEY,
                    filename TEXT NOT NULL UNIQUE,
                    mail_from TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    eight_bit INTEGER NOT NULL,
                    smtputf8 INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    file_removed INTEGER NOT NULL DEFAULT 0,
                    lease_owner INTEGER,
                    lease_until REAL,
                    session_id INTEGER,
                    thread_copy INTEGER NOT NULL DEFAULT 0,
                    agent TEXT
                );
                CREATE INDEX outbound_message_session ON outbound_message(session_id);
                CREATE TABLE outbound_recipient (
                    id INTEGER PRIMARY KEY,
                    message_id INTEGER NOT NULL REFERENCES outbound_message(id) ON DELETE CASCADE,
                    address TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'deferred', 'delivered', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    last_attempt_at REAL,
                    last_reply TEXT,
                    notified INTEGER NOT NULL DEFAULT 0,
                    UNIQUE(message_id, address)
                );
                CREATE INDEX outbound_recipient_due ON outbound_recipient(state, next_attempt_at);
                """)
        }
    }
}
