import GRDB

extension SQLiteDatabase {
    /// Mailbox connectors: the receiving and sending gateways of addresses (settings as JSON,
    /// published and draft), their live state, and the fetch checkpoints.
    ///
    /// A checkpoint row is written in the transaction that stores the fetched message, so a
    /// crash can neither lose a message (checkpoint ahead of the store) nor fetch it twice
    /// (store ahead of the checkpoint).
    package static func registerGatewaySchema(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("gateways-v1") { db in
            try db.execute(sql: """
                CREATE TABLE gateway (
                    id INTEGER PRIMARY KEY,
                    address_id INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
                    direction TEXT NOT NULL CHECK (direction IN ('receiving', 'sending')),
                    published TEXT,
                    draft TEXT,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    UNIQUE (address_id, direction)
                );
                CREATE TABLE gateway_state (
                    gateway_id INTEGER PRIMARY KEY REFERENCES gateway(id) ON DELETE CASCADE,
                    state TEXT NOT NULL,
                    tries INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    cooling_until REAL,
                    last_attempt_at REAL,
                    last_success_at REAL,
                    fetched INTEGER NOT NULL DEFAULT 0,
                    skipped INTEGER NOT NULL DEFAULT 0,
                    updated_at REAL NOT NULL
                );
                CREATE TABLE gateway_folder (
                    gateway_id INTEGER NOT NULL REFERENCES gateway(id) ON DELETE CASCADE,
                    folder TEXT NOT NULL,
                    uid_validity INTEGER NOT NULL,
                    last_uid INTEGER NOT NULL,
                    PRIMARY KEY (gateway_id, folder)
                ) WITHOUT ROWID;
                CREATE TABLE gateway_fetched (
                    gateway_id INTEGER NOT NULL REFERENCES gateway(id) ON DELETE CASCADE,
                    folder TEXT NOT NULL,
                    remote_id TEXT NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('stored', 'duplicate', 'skipped')),
                    reason TEXT,
                    fetched_at REAL NOT NULL,
                    PRIMARY KEY (gateway_id, folder, remote_id)
                ) WITHOUT ROWID;
                """)
        }
        // Several fetched messages may commit at once, in any order: `last_uid` is the
        // highest UID stored, `safe_uid` the highest below which every message was stored
        // or skipped. Between the two, `gateway_fetched` tells which were.
        migrator.registerMigration("gateways-v2-safe-uid") { db in
            try db.execute(sql: """
                ALTER TABLE gateway_folder ADD COLUMN safe_uid INTEGER NOT NULL DEFAULT 0;
                UPDATE gateway_folder SET safe_uid = last_uid;
                """)
        }
    
        // `acted_uid`: every message up to it is in and had the after-fetch action (mark
        // read, move) applied on the server. The catch-up of actions an interrupted pass left
        // undone looks only above it, and the fetched records at or below both it and
        // `safe_uid` say nothing the checkpoint does not: they are deleted with the
        // checkpoint's advance. Existing folders catch up once from the start.
        migrator.registerMigration("gateways-v3-acted-uid") { db in
            try db.execute(sql: "ALTER TABLE gateway_folder ADD COLUMN acted_uid INTEGER NOT NULL DEFAULT 0")
        }
        // Microsoft Graph gateways: each folder's delta query link (the page being read, or
        // the `@odata.deltaLink` of the last complete round), written in the transaction of
        // the message that moved it; and which fetched messages still await their after-fetch
        // action on the server.
        migrator.registerMigration("gateways-v4-graph") { db in
            try db.execute(sql: """
                CREATE TABLE gateway_delta (
                    gateway_id INTEGER NOT NULL REFERENCES gateway(id) ON DELETE CASCADE,
                    folder TEXT NOT NULL,
                    link TEXT NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (gateway_id, folder)
                ) WITHOUT ROWID;
                ALTER TABLE gateway_fetched ADD COLUMN action_pending INTEGER NOT NULL DEFAULT 0;
                """)
        }
        // The outbound path keeps the sending gateways' routes while the directory generation
        // stays the same: a gateway's settings, published, drafted, or with a rotated refresh
        // token, are directory changes too.
        migrator.registerMigration("directory-generation-v2-gateways") { db in
            for event in ["INSERT", "UPDATE", "DELETE"] {
                try db.execute(sql: bumpTrigger(table: "gateway", event: event))
            }
        }
    }
}
