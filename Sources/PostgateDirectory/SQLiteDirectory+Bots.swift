import Foundation
import GRDB
import PostgateMaildir
import PostgateMessage

extension SQLiteDirectory: BotDirectory {
    /// Attaches a bot to `address`, or changes it; a nil secret keeps the one stored.
    package func setBot(address: EmailAddress, url: String, sealedSecret: SealedSecret?, timeout: Double, transferKeywords: [String],
                        now: Date) throws(StoreError) -> BotRecord {
        try Self.checkEventURL(url, what: "bot URL")
        guard (1...300).contains(timeout) else { throw .invalidSetting("a bot's timeout is 1 to 300 seconds, not \(timeout)") }
        let keywords = transferKeywords.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard keywords.count <= 100, keywords.allSatisfy({ $0.count <= 200 }) else {
            throw .invalidSetting("a bot takes at most 100 transfer keywords of at most 200 characters")
        }
        return try database.write { db in
            let id = try requireAddressID(db, address)
            let existing = try String.fetchOne(db, cachedSQL: "SELECT secret FROM bot WHERE address_id = ?", arguments: [id])
            guard let secret = sealedSecret?.sealed ?? existing else {
                throw StoreError.invalidSetting("a new bot needs a secret")
            }
            let keywordText = String(decoding: try JSONEncoder().encode(keywords), as: UTF8.self)
            try db.execute(cachedSQL: """
                INSERT INTO bot (address_id, url, secret, timeout, transfer_keywords, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (address_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, timeout = excluded.timeout,
                    transfer_keywords = excluded.transfer_keywords
                """, arguments: [id, url, secret, timeout, keywordText, now.timeIntervalSince1970])
            return try botRow(db, addressID: id, address: address)!.0
        }
    }

    package func bot(of address: EmailAddress) throws(StoreError) -> (BotRecord, SealedSecret)? {
        try database.read { db in try botRow(db, addressID: try requireAddressID(db, address), address: address) }
    }

    /// The bot of the address whose mailbox is at `mailboxPath`.
    package func bot(mailboxPath: String) throws(StoreError) -> (BotRecord, SealedSecret)? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, cachedSQL: """
                SELECT address.id, address.local_part, domain.name FROM address
                JOIN domain ON domain.id = address.domain_id JOIN mailbox ON mailbox.id = address.mailbox_id
                WHERE mailbox.path = ?
                """, arguments: [mailboxPath]),
                let address = try? EmailAddress((row[1] as String) + "@" + (row[2] as String)) else { return nil }
            return try botRow(db, addressID: row[0], address: address)
        }
    }

    package func removeBot(address: EmailAddress) throws(StoreError) {
        try database.write { db in
            try db.execute(cachedSQL: "DELETE FROM bot WHERE address_id = ?", arguments: [try requireAddressID(db, address)])
            guard db.changesCount > 0 else { throw StoreError.invalidSetting("\(address) has no bot") }
        }
    }

    /// The bot settings the delivery path needs, for the address whose mailbox is `mailboxID`.
    package func botHoldSettings(mailboxID: Int64) throws(StoreError) -> BotHoldSettings? {
        try database.read { db in
            guard let text = try String.fetchOne(db, cachedSQL: """
                SELECT bot.transfer_keywords FROM bot JOIN address ON address.id = bot.address_id WHERE address.mailbox_id = ?
                """, arguments: [mailboxID]) else { return nil }
            return BotHoldSettings(transferKeywords: try JSONDecoder().decode([String].self, from: Data(text.utf8)))
        }
    }

    package func pendingBotTurns(limit: Int) throws(StoreError) -> [BotTurn] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT bot_turn.*, (SELECT message.queue_id FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
                                    WHERE mailbox.path = bot_turn.mailbox_path AND message.uid = bot_turn.uid) AS message_queue_id
                FROM bot_turn WHERE state = 'pending' ORDER BY id LIMIT ?
                """, arguments: [limit]).map { row in
                BotTurn(id: row["id"], eventID: row["event_id"], mailboxPath: row["mailbox_path"],
                        uid: UInt32(truncatingIfNeeded: row["uid"] as Int64), sessionID: row["session_id"], queue: row["queue"],
                        createdAt: Date(timeIntervalSince1970: row["created_at"]), queueID: row["message_queue_id"])
            }
        }
    }

    /// Records a decision; a hand-over marks the session, so its next messages go to people.
    package func finishBotTurn(_ id: Int64, state: String, detail: String?, handOverSession: Int64?, now: Date) throws(StoreError) {
        try database.write(publishingGeneration: false) { db in
            try db.execute(cachedSQL: "UPDATE bot_turn SET state = ?, detail = ?, decided_at = ? WHERE id = ?",
                           arguments: [state, detail.map { String($0.prefix(1000)) }, now.timeIntervalSince1970, id])
            if let session = handOverSession {
                try db.execute(cachedSQL: "UPDATE session SET handed_over_at = coalesce(handed_over_at, ?) WHERE id = ?",
                               arguments: [now.timeIntervalSince1970, session])
            }
        }
    }

    package func botTurns(mailboxPath: String?, limit: Int) throws(StoreError) -> [BotTurnRecord] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT * FROM bot_turn WHERE ? IS NULL OR mailbox_path = ? ORDER BY id DESC LIMIT ?
                """, arguments: [mailboxPath, mailboxPath, limit]).map { row in
                BotTurnRecord(id: row["id"], eventId: row["event_id"], mailbox: row["mailbox_path"],
                              uid: UInt32(truncatingIfNeeded: row["uid"] as Int64), sessionId: row["session_id"], state: row["state"],
                              detail: row["detail"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                              decidedAt: (row["decided_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    package func isHandedOver(session: Int64) throws(StoreError) -> Bool {
        try database.read { db in
            try Bool.fetchOne(db, cachedSQL: "SELECT handed_over_at IS NOT NULL FROM session WHERE id = ?", arguments: [session]) ?? false
        }
    }

    private func botRow(_ db: Database, addressID: Int64, address: EmailAddress) throws -> (BotRecord, SealedSecret)? {
        guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM bot WHERE address_id = ?", arguments: [addressID]) else { return nil }
        let keywords = try JSONDecoder().decode([String].self, from: Data((row["transfer_keywords"] as String).utf8))
        return (BotRecord(address: address.canonical, url: row["url"], timeout: row["timeout"], transferKeywords: keywords,
                          createdAt: Date(timeIntervalSince1970: row["created_at"])),
                SealedSecret(sealed: row["secret"]))
    }
}
