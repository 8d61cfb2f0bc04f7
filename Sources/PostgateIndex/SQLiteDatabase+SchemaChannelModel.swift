import GRDB

extension SQLiteDatabase {
    /// Channel names (unique whatever the case), the blocklist switch, and the
    /// administrator's own auto-reply keywords and senders (JSON arrays).
    package static func registerChannelModelSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("address-channel-model-v1") { db in
            try db.execute(sql: """
                ALTER TABLE address ADD COLUMN channel_name TEXT;
                CREATE UNIQUE INDEX address_channel_name ON address(channel_name COLLATE NOCASE) WHERE channel_name IS NOT NULL;
                ALTER TABLE address ADD COLUMN blocklist_enabled INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE address ADD COLUMN auto_reply_keywords TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE address ADD COLUMN auto_reply_senders TEXT NOT NULL DEFAULT '[]';
                """)
        }
    }
}

extension SQLiteDatabase {
    /// The importance the sender marked on a message (`high`, `low`; NULL for normal).
    package static func registerImportanceSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("message-importance-v1") { db in
            try db.execute(sql: "ALTER TABLE message ADD COLUMN importance TEXT")
        }
    }
}

extension SQLiteDatabase {
    /// Domain ownership: the token a custom domain publishes at `_postgate.DOMAIN`, the
    /// status of its last check, and whether addresses on the domain may be enabled only
    /// once it and its DKIM record are verified (on for custom domains added from now on).
    package static func registerDomainOwnershipSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("domain-ownership-v1") { db in
            try db.execute(sql: """
                ALTER TABLE domain ADD COLUMN require_verification INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE domain ADD COLUMN ownership_token TEXT;
                ALTER TABLE domain ADD COLUMN ownership_status TEXT NOT NULL DEFAULT 'Pending';
                ALTER TABLE domain ADD COLUMN ownership_reason TEXT;
                ALTER TABLE domain ADD COLUMN ownership_checked_at REAL;
                """)
        }
    }
}

extension SQLiteDatabase {
    /// Working calendars by name (the settings as JSON), and the calendar of each address.
    package static func registerCalendarSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("calendars-v1") { db in
            try db.execute(sql: """
                CREATE TABLE calendar (
                    name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
                    settings TEXT NOT NULL,
                    updated_at REAL NOT NULL
                );
                ALTER TABLE address ADD COLUMN calendar TEXT;
                """)
        }
    }
}
