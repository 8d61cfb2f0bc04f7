import Foundation
import GRDB
import PostgateMessage
import PostgateMaildir
import PostgateIndex
import PostgatePolicy

/// What erasing one customer's data removed (or, in a dry run, would remove).
public struct ErasureReport: Sendable, Codable, Equatable {
    public var customer: String
    /// Messages removed, per mailbox path (addresses, queues, quarantine, agents' folders).
    public var messages: [String: Int] = [:]
    /// Sessions of which the customer was the customer, removed with their messages.
    public var sessions = 0
    /// Sessions of others in which the customer only took part: the participant row is removed.
    public var participations = 0
    /// Queued replies to the customer (filled in by the outbound queue).
    public var outboundRecipients = 0
    public var dryRun: Bool

    public var messageCount: Int { messages.values.reduce(0, +) }
}

/// Erasure of one customer's data on request (the right to erasure of data protection law):
/// every stored message the customer sent or received, in every mailbox, their sessions,
/// and their place in others' sessions.
extension MailStore {
    /// Removes every message that names `customer` as envelope sender, as an address in
    /// From, To or Cc, or that belongs to one of the customer's sessions, from every
    /// mailbox (files and rows, as an IMAP EXPUNGE does: mail clients see them vanish);
    /// then the customer's sessions and participant rows. Address lists are compared as
    /// parsed addresses, never as substrings, so `jimbob@x.test` is not `bob@x.test`.
    public func erase(customer: EmailAddress, dryRun: Bool = false) throws(StoreError) -> ErasureReport {
        let email = customer.canonical
        var report = ErasureReport(customer: email, dryRun: dryRun)
        let (matches, sessions, participations) = try erasureMatches(email)
        report.sessions = sessions.count
        report.participations = participations
        for (mailbox, uids) in matches {
            report.messages[mailbox.path] = uids.count
        }
        guard !dryRun else { return report }
        report.messages = try removeMessages(matches)
        try deleteSessions(sessions)
        try database.write(publishingGeneration: false) { db in
            try db.execute(sql: "DELETE FROM session_participant WHERE email = ?", arguments: [email])
        }
        logger.notice("customer data erased", metadata: [
            "messages": "\(report.messageCount)", "sessions": "\(report.sessions)",
        ])
        return report
    }

    /// Removes messages as an IMAP EXPUNGE does (rows, then files; selected sessions of
    /// this process are told). Returns how many were removed per mailbox path.
    func removeMessages(_ matches: [(MailboxState, [UInt32])]) throws(StoreError) -> [String: Int] {
        var removedByPath: [String: Int] = [:]
        for (mailbox, uids) in matches {
            let removed = try index.deleteMessages(mailboxID: mailbox.id, uids: uids)
            let maildir = data.maildir(mailbox.path)
            for message in removed { try? maildir.remove(message.filename, letters: message.fileLetters) }
            if !removed.isEmpty { changes.notify([mailbox.id]) }
            removedByPath[mailbox.path] = removed.count
        }
        return removedByPath
    }

    /// Deletes sessions (their participants go with them); messages still naming one, and
    /// later sessions that continue one, lose the reference.
    func deleteSessions(_ ids: [Int64]) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try database.write(publishingGeneration: false) { db in
            for id in ids {
                try db.execute(sql: "UPDATE message SET session_id = NULL WHERE session_id = ?", arguments: [id])
                try db.execute(sql: "UPDATE session SET previous_session_id = NULL WHERE previous_session_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM session WHERE id = ?", arguments: [id])
            }
        }
    }

    /// The messages to remove by mailbox, the customer's session ids, and the count of
    /// sessions of others the customer took part in.
    private func erasureMatches(_ email: String) throws(StoreError) -> ([(MailboxState, [UInt32])], [Int64], Int) {
        let mailboxes = Dictionary(try index.mailboxes().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return try database.read { db in
            let sessions = try Int64.fetchAll(db, sql: "SELECT id FROM session WHERE lower(customer) = ?", arguments: [email])
            let participations = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM session_participant p JOIN session s ON s.id = p.session_id
                WHERE p.email = ? AND lower(s.customer) <> ?
                """, arguments: [email, email]) ?? 0
            let sessionSet = Set(sessions)
            // A cheap filter in SQL (the address as a substring anywhere, or the session),
            // then an exact comparison of parsed addresses here.
            let pattern = "%" + Self.escapedForLike(email) + "%"
            let rows = try Row.fetchAll(db, sql: """
                SELECT mailbox_id, uid, mail_from, rcpt_to, header_from, header_to, header_cc, session_id FROM message
                WHERE lower(mail_from) LIKE ?1 ESCAPE '\\' OR lower(rcpt_to) LIKE ?1 ESCAPE '\\'
                    OR lower(header_from) LIKE ?1 ESCAPE '\\' OR lower(header_to) LIKE ?1 ESCAPE '\\'
                    OR lower(header_cc) LIKE ?1 ESCAPE '\\'
                    OR session_id IN (SELECT id FROM session WHERE lower(customer) = ?2)
                """, arguments: [pattern, email])
            var byMailbox: [Int64: [UInt32]] = [:]
            for row in rows {
                let session: Int64? = row["session_id"]
                let fields: [String?] = [row["mail_from"], row["rcpt_to"], row["header_from"], row["header_to"], row["header_cc"]]
                let named = fields.contains { field in
                    field.map { HeaderAddressList.addresses(in: $0).contains { $0.canonical == email } } ?? false
                }
                guard named || session.map(sessionSet.contains) == true else { continue }
                byMailbox[row["mailbox_id"], default: []].append(row["uid"])
            }
            let matches = byMailbox.compactMap { id, uids in mailboxes[id].map { ($0, uids.sorted()) } }
                .sorted { $0.0.path < $1.0.path }
            return (matches, sessions, participations)
        }
    }

    private static func escapedForLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}
