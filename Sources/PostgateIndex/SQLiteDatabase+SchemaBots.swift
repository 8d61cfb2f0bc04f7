import GRDB

extension SQLiteDatabase {
    /// Bots attached to addresses (the signing secret sealed), the customer messages each
    /// bot is deciding on, and which sessions were handed to people.
    package static func registerBotSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("bots-v1") { db in
            try db.execute(sql: """
                CREATE TABLE bot (
                    address_id INTEGER NOT NULL PRIMARY KEY REFERENCES address(id) ON DELETE CASCADE,
                    url TEXT NOT NULL,
                    secret TEXT NOT NULL,
                    timeout REAL NOT NULL,
                    transfer_keywords TEXT NOT NULL DEFAULT '[]',
                    created_at REAL NOT NULL
                );
                CREATE TABLE bot_turn (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL UNIQUE,
                    mailbox_path TEXT NOT NULL,
                    uid INTEGER NOT NULL,
                    session_id INTEGER,
                    queue TEXT,
                    created_at REAL NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending',
                    decided_at REAL,
                    detail TEXT
                );
                CREATE INDEX bot_turn_pending ON bot_turn(state, id);
                ALTER TABLE session ADD COLUMN handed_over_at REAL;
                """)
        }
    }
}

/// A customer message held for an address's bot, written with the message: the queue it
/// would have gone to waits for the bot's decision.
package struct BotHold: Sendable, Equatable {
    package var queue: String?

    package init(queue: String?) {
        self.queue = queue
    }
}
