import GRDB

extension SQLiteDatabase {
    /// "dkim-v1": one row per DKIM key (domain and selector) with its DNS verification
    /// state. `first_seen_at` starts the 72-hour window; `next_check_at` is NULL once the
    /// status is final. The private key itself is a file, DATA/<key_path>, mode 0600.
    package static func registerDKIMSchema(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("dkim-v1") { db in
            try db.execute(sql: """
                CREATE TABLE dkim_key (
                    id INTEGER PRIMARY KEY,
                    domain_id INTEGER NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
                    selector TEXT NOT NULL,
                    algorithm TEXT NOT NULL,
                    key_path TEXT NOT NULL,
                    public_record TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'Pending',
                    status_reason TEXT,
                    first_seen_at REAL NOT NULL,
                    last_check_at REAL,
                    next_check_at REAL,
                    check_count INTEGER NOT NULL DEFAULT 0,
                    UNIQUE(domain_id, selector)
                );
                CREATE INDEX dkim_key_next_check ON dkim_key(next_check_at);
                """)
        }
    }
}
