import Foundation
import GRDB
import PostgateMessage
import PostgatePolicy
import PostgateMaildir
import PostgateIndex

extension SQLiteDirectory {
    package func quarantineMailbox(
        for target: MailboxTarget, path: String,
        createMailbox: (_ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> MailboxTarget {
        try database.write { db in
            let id = try directory.mailboxID(db, path: path, createMailbox: createMailbox)
            try db.execute(cachedSQL: """
                INSERT OR IGNORE INTO quarantine_mailbox (mailbox_id, address_mailbox_id) VALUES (?, ?)
                """, arguments: [id, target.mailboxID])
            return MailboxTarget(mailboxID: id, mailboxPath: path, address: target.address)
        }
    }

    package func quarantined(addressMailboxID: Int64?) throws(StoreError) -> [QuarantinedMessage] {
        try database.read { db in
            guard let addressMailboxID else { return try rows(db, where: "1", arguments: []) }
            return try rows(db, where: "quarantine_mailbox.address_mailbox_id = ?", arguments: [addressMailboxID])
        }
    }

    package func labelled(_ label: String, addressMailboxID: Int64?, limit: Int) throws(StoreError) -> [StoredMessage] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT message.*, mailbox.path AS mailbox_path FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE message.policy = ? AND (? IS NULL OR message.mailbox_id = ?)
                  AND message.mailbox_id IN (SELECT mailbox_id FROM address)
                ORDER BY message.internal_date DESC LIMIT ?
                """, arguments: [label, addressMailboxID, addressMailboxID, limit]).map(SQLiteMessageIndex.storedMessage)
        }
    }

    package func quarantined(id: Int64) throws(StoreError) -> QuarantinedMessage? {
        try database.read { db in try rows(db, where: "message.id = ?", arguments: [id]).first }
    }

    package func removeQuarantined(id: Int64) throws(StoreError) {
        try database.write { db in
            guard let mailboxID = try Int64.fetchOne(db, cachedSQL: """
                DELETE FROM message WHERE id = ? AND mailbox_id IN (SELECT mailbox_id FROM quarantine_mailbox)
                RETURNING mailbox_id
                """, arguments: [id]) else { throw StoreError.quarantinedMessageNotFound(id) }
            // An expunge raises HIGHESTMODSEQ (RFC 7162 section 3.1.2.1).
            _ = try ModSequence.next(db, mailboxID: mailboxID)
        }
    }

    private func rows(_ db: Database, where condition: String, arguments: StatementArguments) throws -> [QuarantinedMessage] {
        try Row.fetchAll(db, sql: """
            SELECT message.*, mailbox.path AS mailbox_path, owner.path AS owner_path, owner.id AS owner_id,
                address.local_part AS owner_local_part, domain.name AS owner_domain
            FROM message
            JOIN quarantine_mailbox ON quarantine_mailbox.mailbox_id = message.mailbox_id
            JOIN mailbox ON mailbox.id = message.mailbox_id
            JOIN mailbox AS owner ON owner.id = quarantine_mailbox.address_mailbox_id
            LEFT JOIN address ON address.mailbox_id = owner.id
            LEFT JOIN domain ON domain.id = address.domain_id
            WHERE \(condition)
            ORDER BY message.id
            """, arguments: arguments).map(quarantinedMessage)
    }

    /// Stands for the owner of a mailbox whose address was removed.
    private static let removedAddress = EmailAddress(localPart: "removed", domain: try! DomainName("removed.invalid"))

    private func quarantinedMessage(_ row: Row) throws -> QuarantinedMessage {
        let message = SQLiteMessageIndex.storedMessage(row)
        let owner: EmailAddress? = try (row["owner_local_part"] as String?).map { localPart in
            try directory.emailAddress(localPart: localPart, domain: row["owner_domain"])
        }
        // A row rebuilt from a file named before labels were kept in file names (`P=`) has none.
        let label = message.policy ?? PolicyVerdict.quarantinePrefix + "unknown"
        let reason = label.hasPrefix(PolicyVerdict.quarantinePrefix) ? String(label.dropFirst(PolicyVerdict.quarantinePrefix.count)) : label
        // An address removed since keeps its mailbox; a release still delivers there.
        let address = owner ?? Self.removedAddress
        return QuarantinedMessage(
            id: row["id"], address: owner?.canonical ?? "(removed address)", reason: reason,
            addressMailbox: MailboxTarget(mailboxID: row["owner_id"], mailboxPath: row["owner_path"], address: address),
            message: message)
    }
}
