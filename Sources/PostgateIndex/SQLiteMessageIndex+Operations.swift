import Foundation
import GRDB
import PostgateMaildir

/// `MessageOperations` on the SQLite file (`message`, `message_private_seen`).
extension SQLiteMessageIndex {
    package func snapshot(mailboxID: Int64, agentID: Int64, details: Bool) throws(StoreError) -> MailboxSnapshot {
        try database.read { db in
            guard let mailbox = try Row.fetchOne(db, cachedSQL: """
                SELECT uid_validity, uid_next, private_seen, highest_modseq, expunge_modseq, recent_uid FROM mailbox WHERE id = ?
                """, arguments: [mailboxID]) else { throw StoreError.mailboxNotFound(path: "#\(mailboxID)") }
            let privateSeen: Bool = mailbox["private_seen"]
            let messages = details
                ? try summaries(db, mailboxID: mailboxID, agentID: agentID, privateSeen: privateSeen, uids: nil)
                : try cachedFlagSummaries(db, mailboxID: mailboxID, agentID: agentID, version: MailboxSummaryCache.Version(
                    uidValidity: mailbox["uid_validity"], uidNext: mailbox["uid_next"], highestModSeq: mailbox["highest_modseq"],
                    privateSeen: privateSeen), expungeModSeq: mailbox["expunge_modseq"])
            return MailboxSnapshot(mailboxID: mailboxID, uidValidity: mailbox["uid_validity"], uidNext: mailbox["uid_next"],
                                   highestModSeq: mailbox["highest_modseq"], messages: messages, recentUID: mailbox["recent_uid"],
                                   expungeModSeq: mailbox["expunge_modseq"])
        }
    }

    package func claimRecent(mailboxID: Int64) throws(StoreError) -> ClosedRange<UInt32>? {
        try database.write { db in
            guard let row = try Row.fetchOne(db, cachedSQL: "SELECT recent_uid, uid_next FROM mailbox WHERE id = ?",
                                             arguments: [mailboxID]) else { throw StoreError.mailboxNotFound(path: "#\(mailboxID)") }
            let claimed: UInt32 = row["recent_uid"], next: UInt32 = row["uid_next"]
            guard next > claimed + 1 else { return nil }
            try db.execute(cachedSQL: "UPDATE mailbox SET recent_uid = ? WHERE id = ?", arguments: [next - 1, mailboxID])
            return (claimed + 1)...(next - 1)
        }
    }

    /// `flagSummaries`, from `selectCache` while the mailbox reads as `version` (in the
    /// same read transaction as the version); after a change without an expunge since the
    /// cached version, only the messages changed after it are read and merged in
    /// (`MailboxSummaryCache.Version.canRefresh`).
    private func cachedFlagSummaries(
        _ db: Database, mailboxID: Int64, agentID: Int64, version: MailboxSummaryCache.Version, expungeModSeq: UInt64
    ) throws -> [MessageSummary] {
        let key = MailboxSummaryCache.Key(mailboxID: mailboxID, agentID: version.privateSeen ? agentID : 0)
        let cached = selectCache.entry(key)
        if let cached, cached.version == version { return cached.messages }
        let messages: [MessageSummary]
        if let cached, cached.version.canRefresh(to: version, expungeModSeq: expungeModSeq) {
            let changed = try flagSummaries(db, mailboxID: mailboxID, agentID: agentID, privateSeen: version.privateSeen,
                                            changedAfter: cached.version.highestModSeq)
            messages = MailboxSummaryCache.merging(changed, into: cached.messages)
        } else {
            messages = try flagSummaries(db, mailboxID: mailboxID, agentID: agentID, privateSeen: version.privateSeen)
        }
        selectCache.store(messages, key, at: version)
        return messages
    }

    package func forgetMailbox(_ mailboxID: Int64) {
        selectCache.forget(mailboxID: mailboxID)
    }

    package func updateFlags(
        mailboxID: Int64, agentID: Int64, uids: [UInt32], unchangedSince: UInt64?, change: (MessageFlags) -> MessageFlags
    ) throws(StoreError) -> FlagUpdate {
        try database.write { db in
            let privateSeen = try Bool.fetchOne(db, cachedSQL: "SELECT private_seen FROM mailbox WHERE id = ?", arguments: [mailboxID]) ?? false
            var before = try summaries(db, mailboxID: mailboxID, agentID: agentID, privateSeen: privateSeen, uids: uids)
            // UNCHANGEDSINCE (RFC 7162 section 3.1.3): messages changed since are left alone.
            let modified = unchangedSince.map { limit in before.filter { $0.modSeq > limit }.map(\.uid) } ?? []
            if let limit = unchangedSince { before.removeAll { $0.modSeq > limit } }
            // One new mod-sequence for every message this command changes, a private `\Seen` too.
            var modSeq: UInt64?
            let changes = try before.map { old in
                var new = old
                new.flags = change(old.flags)
                new.fileLetters = privateSeen ? new.flags.settingSeen(old.fileLetters.contains("S")).letters : new.flags.letters
                guard new.flags != old.flags else { return (old, new) }
                let value = try modSeq ?? ModSequence.next(db, mailboxID: mailboxID)
                modSeq = value
                new.modSeq = value
                try db.execute(cachedSQL: "UPDATE message SET flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
                               arguments: [new.fileLetters, new.flags.storedKeywords, value, mailboxID, old.uid])
                if privateSeen, new.flags.isSeen != old.flags.isSeen {
                    let sql = new.flags.isSeen
                        ? "INSERT OR IGNORE INTO message_private_seen (mailbox_id, uid, agent_id) VALUES (?, ?, ?)"
                        : "DELETE FROM message_private_seen WHERE mailbox_id = ? AND uid = ? AND agent_id = ?"
                    try db.execute(sql: sql, arguments: [mailboxID, old.uid, agentID])
                }
                let added = new.flags.subtracting(old.flags).imapNames, removed = old.flags.subtracting(new.flags).imapNames
                try db.execute(cachedSQL: """
                    INSERT INTO message_flag_event (mailbox_id, uid, at, agent_id, added, removed) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [mailboxID, old.uid, Date().timeIntervalSince1970, agentID > 0 ? agentID : nil,
                                     added.joined(separator: " "), removed.joined(separator: " ")])
                return (old, new)
            }
            return FlagUpdate(changes: changes, modified: modified)
        }
    }

    package func deleteMessages(mailboxID: Int64, uids: [UInt32]) throws(StoreError) -> [MessageSummary] {
        try database.write { db in
            let removed = try summaries(db, mailboxID: mailboxID, agentID: 0, privateSeen: false, uids: uids)
            if !removed.isEmpty { _ = try ModSequence.next(db, mailboxID: mailboxID) }
            for message in removed {
                try db.execute(cachedSQL: "DELETE FROM message WHERE mailbox_id = ? AND uid = ?", arguments: [mailboxID, message.uid])
                try db.execute(cachedSQL: "DELETE FROM message_private_seen WHERE mailbox_id = ? AND uid = ?", arguments: [mailboxID, message.uid])
                try db.execute(cachedSQL: "DELETE FROM message_flag_event WHERE mailbox_id = ? AND uid = ?", arguments: [mailboxID, message.uid])
            }
            return removed
        }
    }

    package func insertCopies(
        _ sources: [MessageSummary], from mailboxID: Int64, to target: MailboxState, uniqueNames: [String], keepingQueueID: Bool
    ) throws(StoreError) -> [StoredMessage] {
        try database.write { db in
            let modSeq = try ModSequence.next(db, mailboxID: target.id)
            return try zip(sources, uniqueNames).map { source, uniqueName in
                let uid = try UInt32.fetchOne(db, cachedSQL: "SELECT uid_next FROM mailbox WHERE id = ?", arguments: [target.id]) ?? 1
                try db.execute(cachedSQL: "UPDATE mailbox SET uid_next = uid_next + 1 WHERE id = ?", arguments: [target.id])
                // The inbound policy's label goes with the copy, in its row and its file name.
                let policy = try String.fetchOne(db, cachedSQL: "SELECT policy FROM message WHERE mailbox_id = ? AND uid = ?",
                                                 arguments: [mailboxID, source.uid])
                let filename = MaildirFileName(uniqueName: uniqueName, size: source.size, uid: uid, policy: policy).baseName
                // The copy keeps the source's object identifiers (RFC 8474 sections 5.1, 5.2).
                try db.execute(cachedSQL: """
                    INSERT INTO message (mailbox_id, uid, filename, size, internal_date, flags, keywords, mail_from, rcpt_to,
                        header_from, header_to, header_cc, subject, date, message_id, in_reply_to, "references", policy, modseq, importance,
                        email_key, thread_key, queue_id)
                    SELECT ?, ?, ?, size, internal_date, ?, keywords, mail_from, rcpt_to,
                        header_from, header_to, header_cc, subject, date, message_id, in_reply_to, "references", policy, ?, importance,
                        coalesce(email_key, ?), coalesce(thread_key, session_id), CASE WHEN ? THEN queue_id END
                    FROM message WHERE mailbox_id = ? AND uid = ?
                    """, arguments: [target.id, uid, filename, source.fileLetters, modSeq, MaildirFileName.uniqueName(of: source.filename),
                                     keepingQueueID, mailboxID, source.uid])
                var copy = StoredMessage(mailboxID: target.id, mailboxPath: target.path, uid: uid, filename: filename,
                                         size: source.size, internalDate: source.internalDate, flags: source.fileLetters,
                                         mailFrom: "", rcptTo: "")
                copy.policy = policy
                return copy
            }
        }
    }

    package func setKeywords(_ keywords: String, mailboxID: Int64, uid: UInt32) throws(StoreError) {
        try database.write { db in
            let modSeq = try ModSequence.next(db, mailboxID: mailboxID)
            try db.execute(cachedSQL: "UPDATE message SET keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
                           arguments: [keywords, modSeq, mailboxID, uid])
        }
    }

    package func setPrivateSeen(_ enabled: Bool, mailboxID: Int64) throws(StoreError) {
        try database.write { db in
            try db.execute(cachedSQL: "UPDATE mailbox SET private_seen = ? WHERE id = ?", arguments: [enabled, mailboxID])
        }
    }

    package func details(mailboxID: Int64, uids: ClosedRange<UInt32>) throws(StoreError) -> [MessageSummary] {
        try database.read { db in
            try summaries(db, mailboxID: mailboxID, agentID: 0, privateSeen: false, uids: nil, range: uids)
        }
    }

    // MARK: - Rows

    /// The per-agent `\Seen` lookup, only where the mailbox keeps it private (its argument: the agent).
    private static func seenColumn(_ privateSeen: Bool) -> String {
        privateSeen
            ? "EXISTS(SELECT 1 FROM message_private_seen p WHERE p.mailbox_id = message.mailbox_id AND p.uid = message.uid AND p.agent_id = ?)"
            : "? AND 0"
    }

    /// What SELECT needs of every message (or of those changed after the mod-sequence
    /// `changedAfter`, in mod-sequence order, through `message_modseq`): UID, flags and
    /// mod-sequence, without details.
    private func flagSummaries(
        _ db: Database, mailboxID: Int64, agentID: Int64, privateSeen: Bool, changedAfter: UInt64? = nil
    ) throws -> [MessageSummary] {
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT uid, nullif(flags, ''), nullif(keywords, ''), modseq, \(Self.seenColumn(privateSeen))
            FROM message WHERE mailbox_id = ? \(changedAfter == nil ? "ORDER BY uid" : "AND modseq > ? ORDER BY modseq, uid")
            """), arguments: [agentID, mailboxID] + (changedAfter.map { [$0] } ?? []))
        var summaries: [MessageSummary] = []
        while let row = try rows.next() {
            // Most messages have no flags: NULL, so no string is made for them.
            let letters = row[1] as String? ?? ""
            var flags = MessageFlags(letters: letters, storedKeywords: row[2] as String? ?? "")
            if privateSeen { flags = flags.settingSeen(row[4]) }
            summaries.append(MessageSummary(uid: row[0], flags: flags, size: 0, internalDate: Date(timeIntervalSince1970: 0),
                                            filename: "", fileLetters: letters, modSeq: row[3]))
        }
        return summaries
    }

    /// The messages of a mailbox (all, those in `uids` or in `range`) as `agentID` sees them.
    private func summaries(
        _ db: Database, mailboxID: Int64, agentID: Int64, privateSeen: Bool, uids: [UInt32]?, range: ClosedRange<UInt32>? = nil
    ) throws -> [MessageSummary] {
        var sql = "SELECT uid, flags, keywords, size, internal_date, filename, \(Self.seenColumn(privateSeen)), modseq FROM message WHERE mailbox_id = ?"
        var arguments: StatementArguments = [agentID, mailboxID]
        if let uids {
            sql += " AND uid IN (SELECT value FROM json_each(?))"
            arguments += [String(describing: uids)]
        }
        if let range {
            sql += " AND uid BETWEEN ? AND ?"
            arguments += [range.lowerBound, range.upperBound]
        }
        // Columns by position: a mailbox of 10,000 messages is read on every SELECT.
        let rows = try Row.fetchCursor(db, sql: sql + " ORDER BY uid", arguments: arguments)
        var summaries: [MessageSummary] = []
        while let row = try rows.next() {
            let letters: String = row[1]
            var flags = MessageFlags(letters: letters, storedKeywords: row[2])
            if privateSeen { flags = flags.settingSeen(row[6]) }
            summaries.append(MessageSummary(uid: row[0], flags: flags, size: row[3],
                                            internalDate: Date(timeIntervalSince1970: row[4]), filename: row[5], fileLetters: letters,
                                            modSeq: row[7]))
        }
        return summaries
    }

}
