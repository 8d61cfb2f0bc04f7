import Foundation
import GRDB
import PostgateMessage
import PostgateMaildir
import PostgateIndex

extension SQLiteDirectory {
    /// The longest keyword a filter may have.
    package static let maxKeywordLength = 200

    package func addFilter(to address: EmailAddress, field: FilterRule.Field, keyword: String, queue: String, position: Int?) throws(StoreError) -> FilterRule {
        let keyword = try Self.checkedKeyword(keyword, field: field)
        return try database.write { db in
            let addressID = try requireAddressID(db, address)
            let id = try insertFilter(db, addressID: addressID, field: field, keyword: keyword, queue: queue, position: position)
            return try filterRules(db, addressID: addressID).first { $0.id == id }!
        }
    }

    /// A new rule row at `position` (nil: last), in the caller's transaction.
    package func insertFilter(_ db: Database, addressID: Int64, field: FilterRule.Field, keyword: String, queue: String, position: Int?) throws -> Int64 {
        let queueID = try requireQueueID(db, queue)
        let count = try Int.fetchOne(db, cachedSQL: "SELECT count(*) FROM filter WHERE address_id = ?", arguments: [addressID]) ?? 0
        let slot = min(max(position ?? count + 1, 1), count + 1)
        try db.execute(cachedSQL: "UPDATE filter SET position = position + 1 WHERE address_id = ? AND position >= ?",
                       arguments: [addressID, slot])
        try db.execute(cachedSQL: """
            INSERT INTO filter (address_id, position, field, keyword, queue_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [addressID, slot, field.rawValue, keyword, queueID, Date().timeIntervalSince1970])
        return db.lastInsertedRowID
    }

    package func filters(of address: EmailAddress) throws(StoreError) -> [FilterRule] {
        try database.read { db in try filterRules(db, addressID: requireAddressID(db, address)) }
    }

    package func removeFilter(_ id: Int64, of address: EmailAddress) throws(StoreError) {
        try database.write { db in
            let addressID = try requireAddressID(db, address)
            try db.execute(cachedSQL: "DELETE FROM filter WHERE id = ? AND address_id = ?", arguments: [id, addressID])
            guard db.changesCount == 1 else { throw StoreError.filterNotFound(Int(id), address: address) }
            try renumber(db, addressID: addressID, order: filterRules(db, addressID: addressID).map(\.id))
        }
    }

    package func moveFilter(_ id: Int64, of address: EmailAddress, to position: Int) throws(StoreError) -> [FilterRule] {
        try database.write { db in
            let addressID = try requireAddressID(db, address)
            var order = try filterRules(db, addressID: addressID).map(\.id)
            guard let from = order.firstIndex(of: id) else { throw StoreError.filterNotFound(Int(id), address: address) }
            order.remove(at: from)
            order.insert(id, at: min(max(position, 1), order.count + 1) - 1)
            try renumber(db, addressID: addressID, order: order)
            return try filterRules(db, addressID: addressID)
        }
    }

    package func route(_ target: MailboxTarget, facts: RoutingFacts) throws(StoreError) -> QueueTarget? {
        try routePlan(target)?.route(facts)
    }

    package func routePlan(_ target: MailboxTarget) throws(StoreError) -> RoutePlan? {
        try database.read { db in
            guard let addressID = try requireAddressIDIfPresent(db, target.address) else { return nil }
            let filters = try filterRules(db, addressID: addressID)
            let defaultQueue = try String.fetchOne(db, cachedSQL: """
                SELECT queue.name FROM address JOIN queue ON queue.id = address.default_queue_id WHERE address.id = ?
                """, arguments: [addressID])
            var queues: [String: MailboxTarget] = [:]
            for name in Set(filters.map(\.queue) + [defaultQueue].compactMap { $0 }) {
                guard let row = try Row.fetchOne(db, cachedSQL: """
                    SELECT queue.mailbox_id, mailbox.path FROM queue JOIN mailbox ON mailbox.id = queue.mailbox_id
                    WHERE queue.name = ?
                    """, arguments: [name]) else { continue }
                queues[name] = MailboxTarget(mailboxID: row["mailbox_id"], mailboxPath: row["path"], address: target.address)
            }
            return RoutePlan(filters: filters, defaultQueue: defaultQueue, queues: queues)
        }
    }

    // MARK: - Helpers

    /// The keyword in canonical form for its field: one line; for `importance` one of high,
    /// normal, low; for `header` `Name: text` with a field name of RFC 5322 section 3.6.8.
    package static func checkedKeyword(_ keyword: String, field: FilterRule.Field) throws(StoreError) -> String {
        let keyword = keyword.trimmingCharacters(in: .whitespaces)
        guard !keyword.isEmpty, keyword.count <= maxKeywordLength,
              !keyword.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidSetting("a filter keyword must be one line of 1 to \(maxKeywordLength) characters")
        }
        switch field {
        case .importance:
            guard let importance = MessageImportance(rawValue: keyword.lowercased()) else {
                throw .invalidSetting("an importance filter takes high, normal or low, not '\(keyword)'")
            }
            return importance.rawValue
        case .header:
            guard let (name, text) = FilterRule.headerKeyword(keyword) else {
                throw .invalidSetting("a header filter takes NAME: TEXT with a header field name (printable ASCII, no colon), not '\(keyword)'")
            }
            return "\(name): \(text)"
        case .sender, .subject, .body, .recipient:
            return keyword
        }
    }

    private func requireAddressIDIfPresent(_ db: Database, _ address: EmailAddress) throws -> Int64? {
        guard let domainID = try domainID(db, address.domain) else { return nil }
        return try Int64.fetchOne(db, cachedSQL: "SELECT id FROM address WHERE domain_id = ? AND local_part = ?",
                                  arguments: [domainID, address.canonicalLocalPart])
    }

    private func renumber(_ db: Database, addressID: Int64, order: [Int64]) throws {
        for (index, id) in order.enumerated() {
            try db.execute(cachedSQL: "UPDATE filter SET position = ? WHERE id = ? AND address_id = ?", arguments: [index + 1, id, addressID])
        }
    }

    package func filterRules(_ db: Database, addressID: Int64) throws -> [FilterRule] {
        let owner = try addressName(db, addressID: addressID)
        return try Row.fetchAll(db, cachedSQL: """
            SELECT filter.*, queue.name AS queue_name FROM filter JOIN queue ON queue.id = filter.queue_id
            WHERE filter.address_id = ? ORDER BY filter.position, filter.id
            """, arguments: [addressID]).map { row in
            FilterRule(id: row["id"], address: owner, position: row["position"],
                       field: FilterRule.Field(rawValue: row["field"]) ?? .subject, keyword: row["keyword"],
                       queue: row["queue_name"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
        }
    }
}
