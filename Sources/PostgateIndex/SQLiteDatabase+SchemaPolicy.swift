import GRDB

extension SQLiteDatabase {
    /// The inbound policy's schema ("policy-v1"):
    ///
    /// - `blocklist`: per receiving address, blocked sender addresses and domains, keyed by
    ///   their canonical `value` (`local@a-label` or `a-label`);
    /// - `message.policy`: the verdict label of each stored message (`auto-reply`,
    ///   `blocked`, `own-reply`, `quarantined:<reason>`; NULL for an ordinary message), which
    ///   IMAP and the session engine read to skip automation; the Maildir file name carries
    ///   it too (`,P=`), so a rebuilt index keeps it;
    /// - `quarantine_mailbox`: the quarantine Maildir of each address mailbox
    ///   (`quarantine/<domain>/<local-part>`), outside `maildir/` so no agent sees it.
    package static func registerPolicySchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("policy-v1") { db in
            try db.execute(sql: """
                CREATE TABLE blocklist (
                    id INTEGER PRIMARY KEY,
                    address_id INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL CHECK (kind IN ('address', 'domain')),
                    value TEXT NOT NULL,
                    display TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    UNIQUE(address_id, value)
                );
                ALTER TABLE message ADD COLUMN policy TEXT;
                CREATE TABLE quarantine_mailbox (
                    mailbox_id INTEGER PRIMARY KEY REFERENCES mailbox(id),
                    address_mailbox_id INTEGER NOT NULL UNIQUE REFERENCES mailbox(id)
                );
                """)
        }
    }
}
