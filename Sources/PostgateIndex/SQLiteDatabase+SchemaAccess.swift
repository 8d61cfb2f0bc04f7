import GRDB

extension SQLiteDatabase {
    /// API tokens (only the SHA-256 of each token is kept) and the audit log of changes.
    package static func registerAccessSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("api-tokens-audit-v1") { db in
            try db.execute(sql: """
                CREATE TABLE api_token (
                    id TEXT NOT NULL PRIMARY KEY,
                    name TEXT NOT NULL COLLATE NOCASE,
                    scopes TEXT NOT NULL,
                    secret_hash TEXT NOT NULL,
                    rate_per_minute INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    last_used_at REAL,
                    revoked_at REAL
                );
                CREATE UNIQUE INDEX api_token_name ON api_token(name) WHERE revoked_at IS NULL;
                CREATE TABLE audit_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at REAL NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    detail TEXT
                );
                """)
        }
    }
}
