import GRDB

extension SQLiteDatabase {
    /// Who changed a message's flags over IMAP, when, and what was added and removed, for
    /// `postgate trace`. Written in the transaction of the change; removed with the message.
    package static func registerFlagHistorySchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("flag-history-v1") { db in
            try db.execute(sql: """
                CREATE TABLE message_flag_event (
                    id INTEGER PRIMARY KEY,
                    mailbox_id INTEGER NOT NULL,
                    uid INTEGER NOT NULL,
                    at REAL NOT NULL,
                    agent_id INTEGER,
                    added TEXT NOT NULL,
                    removed TEXT NOT NULL
                );
                CREATE INDEX message_flag_event_message ON message_flag_event(mailbox_id, uid);
                """)
        }
    }
}
