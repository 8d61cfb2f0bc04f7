import Foundation
import GRDB

extension SQLiteDatabase {
    /// Who works a session and where: its owner (the agent who first replied, or the one it
    /// was assigned to), the queue a transfer moved it to (nil: where the address's filters
    /// route it), since when a customer's message waits for an agent's answer, and the
    /// history of those changes. The address settings that act on them: last-agent mode,
    /// transfer on no agent reply, and the closing message sent when a session ends.
    ///
    /// Sessions were closed only lazily (an expired `open` row reads as closed); the closing
    /// pass of `serve` now closes them for real, so the ones already expired are closed here
    /// rather than each getting a closing message long after its end.
    package static func registerOwnershipSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("session-ownership-v1") { db in
            try db.execute(sql: """
                ALTER TABLE session ADD COLUMN owner_agent_id INTEGER REFERENCES agent(id) ON DELETE SET NULL;
                ALTER TABLE session ADD COLUMN queue TEXT;
                ALTER TABLE session ADD COLUMN awaiting_since REAL;
                CREATE INDEX session_awaiting ON session(awaiting_since) WHERE awaiting_since IS NOT NULL AND status = 'open';
                CREATE INDEX session_expiry ON session(expires_at) WHERE status = 'open';
                CREATE TABLE session_event (
                    id INTEGER PRIMARY KEY,
                    session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
                    at REAL NOT NULL,
                    kind TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    agent TEXT,
                    from_queue TEXT,
                    to_queue TEXT,
                    detail TEXT
                );
                CREATE INDEX session_event_session ON session_event(session_id, id);
                ALTER TABLE address ADD COLUMN last_agent_days INTEGER;
                ALTER TABLE address ADD COLUMN transfer_after_seconds INTEGER;
                ALTER TABLE address ADD COLUMN transfer_queue TEXT;
                ALTER TABLE address ADD COLUMN closing_text TEXT;
                ALTER TABLE address ADD COLUMN closing_html TEXT;
                """)
            try db.execute(sql: "UPDATE session SET status = 'closed' WHERE status = 'open' AND expires_at <= ?",
                           arguments: [Date().timeIntervalSince1970])
        }
    }
}
