import GRDB

extension SQLiteDatabase {
    /// The channel model: domain kinds, the addresses' channel settings, drafts
    /// and publications, agents' work queues and the routing filters.
    package static func registerChannelMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("channels-v1") { db in
            try db.execute(sql: """
                ALTER TABLE domain ADD COLUMN kind TEXT NOT NULL DEFAULT 'hosted';
                CREATE TABLE queue (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    description TEXT,
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id),
                    created_at REAL NOT NULL
                );
                ALTER TABLE address ADD COLUMN usage TEXT NOT NULL DEFAULT 'both';
                ALTER TABLE address ADD COLUMN send_contact_card INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE address ADD COLUMN contact_card TEXT;
                ALTER TABLE address ADD COLUMN template_header_text TEXT;
                ALTER TABLE address ADD COLUMN template_header_html TEXT;
                ALTER TABLE address ADD COLUMN template_footer_text TEXT;
                ALTER TABLE address ADD COLUMN template_footer_html TEXT;
                ALTER TABLE address ADD COLUMN default_queue_id INTEGER REFERENCES queue(id);
                ALTER TABLE address ADD COLUMN contact_centre_address TEXT;
                ALTER TABLE address ADD COLUMN session_mode TEXT NOT NULL DEFAULT 'channel';
                ALTER TABLE address ADD COLUMN allowed_sender_domains TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE address ADD COLUMN exclude_auto_replies INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE address ADD COLUMN sync_recipient_only INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE address ADD COLUMN max_to INTEGER;
                ALTER TABLE address ADD COLUMN max_cc INTEGER;
                ALTER TABLE address ADD COLUMN max_bcc INTEGER;
                CREATE TABLE address_draft (
                    address_id INTEGER PRIMARY KEY REFERENCES address(id) ON DELETE CASCADE,
                    settings TEXT NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE TABLE publication (
                    id INTEGER PRIMARY KEY,
                    published_at REAL NOT NULL,
                    comment TEXT NOT NULL,
                    changes TEXT NOT NULL
                );
                CREATE TABLE filter (
                    id INTEGER PRIMARY KEY,
                    address_id INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    field TEXT NOT NULL,
                    keyword TEXT NOT NULL,
                    queue_id INTEGER NOT NULL REFERENCES queue(id),
                    created_at REAL NOT NULL
                );
                CREATE INDEX filter_address ON filter(address_id, position);
                """)
        }
    }
}
