import GRDB

extension SQLiteDatabase {
    /// The schema, one migration per released change. The table and column names are a
    /// contract: the end-to-end tests (and administrators) read the file directly.
    package static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE domain (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    unicode_name TEXT NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE TABLE mailbox (
                    id INTEGER PRIMARY KEY,
                    path TEXT NOT NULL UNIQUE,
                    uid_validity INTEGER NOT NULL,
                    uid_next INTEGER NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE TABLE address (
                    id INTEGER PRIMARY KEY,
                    domain_id INTEGER NOT NULL REFERENCES domain(id),
                    local_part TEXT NOT NULL,
                    display_name TEXT,
                    enabled INTEGER NOT NULL DEFAULT 1,
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id),
                    created_at REAL NOT NULL,
                    UNIQUE(domain_id, local_part)
                );
                CREATE TABLE alias (
                    id INTEGER PRIMARY KEY,
                    address_id INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
                    domain_id INTEGER NOT NULL REFERENCES domain(id),
                    local_part TEXT NOT NULL,
                    UNIQUE(domain_id, local_part)
                );
                CREATE INDEX alias_address ON alias(address_id);
                CREATE TABLE message (
                    id INTEGER PRIMARY KEY,
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id),
                    uid INTEGER NOT NULL,
                    filename TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    internal_date REAL NOT NULL,
                    flags TEXT NOT NULL DEFAULT '',
                    mail_from TEXT NOT NULL,
                    rcpt_to TEXT NOT NULL,
                    header_from TEXT,
                    header_to TEXT,
                    header_cc TEXT,
                    subject TEXT,
                    date TEXT,
                    message_id TEXT,
                    in_reply_to TEXT,
                    "references" TEXT,
                    UNIQUE(mailbox_id, uid)
                );
                CREATE INDEX message_message_id ON message(message_id);
                CREATE INDEX message_filename ON message(mailbox_id, filename);
                """)
        }
        registerChannelMigrations(&migrator)
        registerDKIMSchema(in: &migrator)
        registerPolicySchema(&migrator)
        registerSessionsSchema(&migrator)
        registerAgentsSchema(&migrator)
        registerOutboundMigrations(&migrator)
        registerDirectoryGenerationSchema(&migrator)
        registerIMAPCacheSchema(&migrator)
        registerCondStoreSchema(&migrator)
        registerJournalSchema(&migrator)
        registerSelectRefreshSchema(&migrator)
        registerGatewaySchema(&migrator)
        registerSentCopySchema(&migrator)
        registerRetentionSchema(&migrator)
        registerMailboxAllocationSchema(&migrator)
        registerRecentSchema(&migrator)
        registerSearchTextSchema(&migrator)
        registerChannelModelSchema(&migrator)
        registerImportanceSchema(&migrator)
        registerDomainOwnershipSchema(&migrator)
        registerCalendarSchema(&migrator)
        registerAccessSchema(&migrator)
        registerAutoReplySchema(&migrator)
        registerWebhookSchema(&migrator)
        registerBotSchema(&migrator)
        registerAgentProfileSchema(&migrator)
        registerTraceSchema(&migrator)
        registerFlagHistorySchema(&migrator)
        registerOwnershipSchema(&migrator)
        registerResponsesSchema(&migrator)
        registerObjectIDSchema(&migrator)
        registerPreviewSchema(&migrator)
        return migrator
    }
}
