import GRDB

extension SQLiteDatabase {
    /// Agents and what they see over IMAP: the `agent` table, membership of
    /// channel addresses and of work queues (the queue table of "channels-v1"), personal folders, subscriptions, per-agent `\Seen` for shared
    /// mailboxes that keep read state private, and IMAP keywords on messages.
    ///
    /// Personal folders are mailboxes like any other (a Maildir under `DATA/agents/`), so
    /// every message operation works the same on personal and shared mailboxes.
    package static func registerAgentsSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("agents-v1") { db in
            try db.execute(sql: """
                CREATE TABLE agent (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    display_name TEXT,
                    password_hash TEXT NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE TABLE agent_address (
                    agent_id INTEGER NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
                    address_id INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
                    PRIMARY KEY (agent_id, address_id)
                );
                CREATE TABLE agent_queue (
                    agent_id INTEGER NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
                    queue_id INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
                    PRIMARY KEY (agent_id, queue_id)
                );
                CREATE TABLE agent_folder (
                    id INTEGER PRIMARY KEY,
                    agent_id INTEGER NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id),
                    special_use TEXT,
                    UNIQUE(agent_id, name)
                );
                CREATE TABLE agent_subscription (
                    agent_id INTEGER NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    PRIMARY KEY (agent_id, name)
                );
                CREATE TABLE message_private_seen (
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id),
                    uid INTEGER NOT NULL,
                    agent_id INTEGER NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
                    PRIMARY KEY (mailbox_id, uid, agent_id)
                );
                ALTER TABLE mailbox ADD COLUMN private_seen INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE message ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
                """)
        }
    }
}
