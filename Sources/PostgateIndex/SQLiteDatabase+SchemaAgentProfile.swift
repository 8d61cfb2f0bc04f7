import GRDB

extension SQLiteDatabase {
    /// An agent's own email address (for personal replies) and signature (text and HTML,
    /// templates over `SignatureValues`), each optional; and the address setting that lets
    /// agents reply from their own address.
    package static func registerAgentProfileSchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("agent-profile-v1") { db in
            try db.execute(sql: """
                ALTER TABLE agent ADD COLUMN email TEXT;
                ALTER TABLE agent ADD COLUMN signature_text TEXT;
                ALTER TABLE agent ADD COLUMN signature_html TEXT;
                CREATE UNIQUE INDEX agent_email ON agent(email) WHERE email IS NOT NULL;
                ALTER TABLE address ADD COLUMN personal_replies INTEGER NOT NULL DEFAULT 0;
                """)
        }
    }
}
