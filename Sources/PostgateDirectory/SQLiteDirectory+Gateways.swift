import Foundation
import GRDB
import PostgateIndex
import PostgateMessage
import PostgateMaildir

/// `GatewayDirectory` on the tables `gateway` (settings as JSON, published and draft, one
/// row per address and direction) and `gateway_state` (written by the fetch engine).
extension SQLiteDirectory {
    package func gateway<S: GatewaySettings>(_ type: S.Type, of address: EmailAddress) throws(StoreError) -> GatewayRecord<S>? {
        try database.read { db in
            let id = try requireAddressID(db, address)
            guard let row = try gatewayRow(db, addressID: id, direction: S.direction) else { return nil }
            return GatewayRecord(address: try addressName(db, addressID: id),
                                 published: try decodeGateway(S.self, row["published"] as String?),
                                 draft: try decodeGateway(S.self, row["draft"] as String?))
        }
    }

    package func editGatewayDraft<S: GatewaySettings>(of address: EmailAddress, _ edit: (inout S) throws(StoreError) -> Void) throws(StoreError) -> S {
        try database.write { db in
            let id = try requireAddressID(db, address)
            let row = try gatewayRow(db, addressID: id, direction: S.direction)
            let published = try decodeGateway(S.self, Self.text(row, "published"))
            var settings = try decodeGateway(S.self, Self.text(row, "draft")) ?? published ?? S()
            try edit(&settings)
            // The usage the address will have: its draft's, else what is published.
            let usage = try (draft(db, addressID: id) ?? publishedSettings(db, addressID: id)).usage
            settings = try checkedGateway(db, settings, addressID: id, owner: address, usage: usage)
            let draftText: String? = try (settings == published ? nil : Self.encode(settings))
            let now = Date().timeIntervalSince1970
            if let row {
                try db.execute(cachedSQL: "UPDATE gateway SET draft = ?, updated_at = ? WHERE id = ?",
                               arguments: [draftText, now, row["id"] as Int64])
            } else {
                try db.execute(cachedSQL: """
                    INSERT INTO gateway (address_id, direction, published, draft, created_at, updated_at)
                    VALUES (?, ?, NULL, ?, ?, ?)
                    """, arguments: [id, S.direction.rawValue, draftText, now, now])
            }
            return settings
        }
    }

    package func discardGatewayDrafts(of address: EmailAddress, direction: GatewayDirection?) throws(StoreError) -> [GatewayDirection] {
        try database.write { db in
            let id = try requireAddressID(db, address)
            var dropped: [GatewayDirection] = []
            for row in try Row.fetchAll(db, cachedSQL: """
                SELECT id, direction, published IS NULL AS never_published FROM gateway
                WHERE address_id = ? AND draft IS NOT NULL ORDER BY direction
                """, arguments: [id]) {
                guard let rowDirection = GatewayDirection(rawValue: row["direction"]),
                      direction == nil || direction == rowDirection else { continue }
                if row["never_published"] as Bool {
                    try db.execute(cachedSQL: "DELETE FROM gateway WHERE id = ?", arguments: [row["id"] as Int64])
                } else {
                    try db.execute(cachedSQL: "UPDATE gateway SET draft = NULL, updated_at = ? WHERE id = ?",
                                   arguments: [Date().timeIntervalSince1970, row["id"] as Int64])
                }
                dropped.append(rowDirection)
            }
            return dropped
        }
    }

    package func replaceRefreshToken(of address: EmailAddress, direction: GatewayDirection, with token: SealedSecret) throws(StoreError) {
        try database.write { db in
            let id = try requireAddressID(db, address)
            guard let row = try Row.fetchOne(db, cachedSQL: "SELECT id, published, draft FROM gateway WHERE address_id = ? AND direction = ?",
                                             arguments: [id, direction.rawValue]) else {
                throw StoreError.gatewayNotFound(address, direction: direction.rawValue)
            }
            func replaced<S: GatewaySettings>(_ type: S.Type, _ text: String?, old: SealedSecret?) throws -> (String?, SealedSecret?) {
                guard var settings = try decodeGateway(S.self, text), let current = settings.connection.oauth?.refreshToken else {
                    return (text, nil)
                }
                guard old == nil || current == old else { return (text, current) }
                settings.connection.oauth?.refreshToken = token
                return (try Self.encode(settings), current)
            }
            /// The published settings, and the draft where it holds the same token.
            func both<S: GatewaySettings>(_ type: S.Type) throws -> (String?, String?) {
                let (published, old) = try replaced(S.self, row["published"], old: nil)
                return (published, try replaced(S.self, row["draft"], old: old).0)
            }
            let (published, draft) = direction == .receiving ? try both(ReceivingGatewaySettings.self) : try both(SendingGatewaySettings.self)
            try db.execute(cachedSQL: "UPDATE gateway SET published = ?, draft = ?, updated_at = ? WHERE id = ?",
                           arguments: [published, draft, Date().timeIntervalSince1970, row["id"] as Int64])
        }
    }

    package func removeGateway(of address: EmailAddress, direction: GatewayDirection) throws(StoreError) {
        try database.write { db in
            let id = try requireAddressID(db, address)
            try db.execute(cachedSQL: "DELETE FROM gateway WHERE address_id = ? AND direction = ?", arguments: [id, direction.rawValue])
            guard db.changesCount > 0 else { throw StoreError.gatewayNotFound(address, direction: direction.rawValue) }
        }
    }

    package func gateways() throws(StoreError) -> [GatewayListing] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT gateway.id, gateway.direction, gateway.published, gateway.draft,
                    address.local_part, domain.name AS domain_name,
                    gateway_state.state, gateway_state.tries, gateway_state.last_error, gateway_state.cooling_until,
                    gateway_state.last_attempt_at, gateway_state.last_success_at, gateway_state.fetched,
                    gateway_state.skipped, gateway_state.updated_at AS state_updated_at
                FROM gateway
                JOIN address ON address.id = gateway.address_id
                JOIN domain ON domain.id = address.domain_id
                LEFT JOIN gateway_state ON gateway_state.gateway_id = gateway.id
                ORDER BY domain.name, address.local_part, gateway.direction
                """).map { row in
                let address = try emailAddress(localPart: row["local_part"], domain: row["domain_name"]).description
                guard let direction = GatewayDirection(rawValue: row["direction"]) else {
                    throw StoreError.database(path: database.path, reason: "gateway #\(row["id"] as Int64) has an unknown direction")
                }
                var listing: GatewayListing
                switch direction {
                case .receiving:
                    let published = try decodeGateway(ReceivingGatewaySettings.self, row["published"] as String?)
                    let draft = try decodeGateway(ReceivingGatewaySettings.self, row["draft"] as String?)
                    listing = Self.listing(row, address: address, published: published, draft: draft)
                    listing.maxTries = (published ?? draft)?.maxTries
                case .sending:
                    listing = Self.listing(row, address: address,
                                           published: try decodeGateway(SendingGatewaySettings.self, row["published"] as String?),
                                           draft: try decodeGateway(SendingGatewaySettings.self, row["draft"] as String?))
                }
                if row["state"] as String? != nil {
                    listing.state = GatewayLiveState(row: row, updatedAtColumn: "state_updated_at")
                }
                return listing
            }
        }
    }

    package func publishedReceivingGateways() throws(StoreError) -> [(gatewayID: Int64, address: EmailAddress, settings: ReceivingGatewaySettings)] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT gateway.id, gateway.published, address.local_part, domain.name AS domain_name
                FROM gateway
                JOIN address ON address.id = gateway.address_id
                JOIN domain ON domain.id = address.domain_id
                WHERE gateway.direction = 'receiving' AND gateway.published IS NOT NULL
                    AND address.enabled AND address.usage != 'outbound'
                ORDER BY gateway.id
                """).map { row in
                guard let settings = try decodeGateway(ReceivingGatewaySettings.self, row["published"] as String?) else {
                    throw StoreError.database(path: database.path, reason: "gateway #\(row["id"] as Int64) has no published settings")
                }
                return (gatewayID: row["id"] as Int64, address: try emailAddress(localPart: row["local_part"], domain: row["domain_name"]), settings: settings)
            }
        }
    }

    // MARK: - Publishing and checks shared with the address settings

    /// Publishes the gateway drafts of the address `addressID` (receiving first, so that a
    /// sending gateway saving to Sent sees it), checked against the address as published
    /// now. Runs in the caller's transaction.
    /// - Returns: the changes, field names prefixed `receiving.` / `sending.`; nil when the
    ///   address has no gateway draft.
    package func publishGatewayDrafts(_ db: Database, addressID: Int64, owner: EmailAddress) throws -> [ChannelSettings.Change]? {
        let rows = try Row.fetchAll(db, cachedSQL: """
            SELECT id, direction, published, draft FROM gateway WHERE address_id = ? AND draft IS NOT NULL ORDER BY direction
            """, arguments: [addressID])
        guard !rows.isEmpty else { return nil }
        let usage = try publishedSettings(db, addressID: addressID).usage
        var changes: [ChannelSettings.Change] = []
        for row in rows {
            switch GatewayDirection(rawValue: row["direction"]) {
            case .receiving:
                changes += try publishGateway(db, ReceivingGatewaySettings.self, row: row, addressID: addressID, owner: owner, usage: usage)
            case .sending:
                changes += try publishGateway(db, SendingGatewaySettings.self, row: row, addressID: addressID, owner: owner, usage: usage)
            case nil:
                throw StoreError.database(path: database.path, reason: "gateway #\(row["id"] as Int64) has an unknown direction")
            }
        }
        return changes
    }

    private func publishGateway<S: GatewaySettings>(
        _ db: Database, _ type: S.Type, row: Row, addressID: Int64, owner: EmailAddress, usage: AddressUsage
    ) throws -> [ChannelSettings.Change] {
        guard let draft = try decodeGateway(S.self, row["draft"] as String?) else { return [] }
        let before = try decodeGateway(S.self, row["published"] as String?)
        let settings = try checkedGateway(db, draft, addressID: addressID, owner: owner, usage: usage)
        try db.execute(cachedSQL: "UPDATE gateway SET published = ?, draft = NULL, updated_at = ? WHERE id = ?",
                       arguments: [try Self.encode(settings), Date().timeIntervalSince1970, row["id"] as Int64])
        return settings.changes(from: before)
    }

    /// Validates gateway settings against the rules and the address: a receiving gateway
    /// needs an address that receives (usage inbound or both), a sending one an address that
    /// sends (outbound or both), and saving to Sent an IMAP receiving gateway.
    package func checkedGateway<S: GatewaySettings>(
        _ db: Database, _ settings: S, addressID: Int64, owner: EmailAddress, usage: AddressUsage
    ) throws -> S {
        let checked = try settings.validated()
        switch S.direction {
        case .receiving:
            guard usage.receives else {
                throw StoreError.invalidSetting("\(owner.display) has usage \(usage.rawValue); a receiving gateway needs usage inbound or both")
            }
        case .sending:
            guard usage.sends else {
                throw StoreError.invalidSetting("\(owner.display) has usage \(usage.rawValue); a sending gateway needs usage outbound or both")
            }
            if let sending = checked as? SendingGatewaySettings, sending.saveToSent, sending.kind == .smtp {
                let row = try gatewayRow(db, addressID: addressID, direction: .receiving)
                let receiving = try decodeGateway(ReceivingGatewaySettings.self, Self.text(row, "draft"))
                    ?? decodeGateway(ReceivingGatewaySettings.self, Self.text(row, "published"))
                guard receiving?.kind == .imap else {
                    throw StoreError.invalidSetting("saving replies to Sent appends through the address's IMAP receiving gateway; \(owner.display) has none")
                }
            }
        }
        return checked
    }

    /// Refuses a usage of the address that its gateways do not fit (checked with the
    /// address settings, so that a gateway never outlives the direction it serves).
    package func checkGatewaysFit(_ db: Database, usage: AddressUsage, addressID: Int64, owner: EmailAddress) throws {
        let directions = try String.fetchAll(db, cachedSQL: "SELECT direction FROM gateway WHERE address_id = ?", arguments: [addressID])
        if !usage.receives, directions.contains(GatewayDirection.receiving.rawValue) {
            throw StoreError.invalidSetting("\(owner.display) has a receiving gateway, which needs usage inbound or both; remove it first with `postgate connector remove \(owner.display) --receiving`")
        }
        if !usage.sends, directions.contains(GatewayDirection.sending.rawValue) {
            throw StoreError.invalidSetting("\(owner.display) has a sending gateway, which needs usage outbound or both; remove it first with `postgate connector remove \(owner.display) --sending`")
        }
    }

    // MARK: - Rows

    private func gatewayRow(_ db: Database, addressID: Int64, direction: GatewayDirection) throws -> Row? {
        try Row.fetchOne(db, cachedSQL: "SELECT id, published, draft FROM gateway WHERE address_id = ? AND direction = ?",
                         arguments: [addressID, direction.rawValue])
    }

    package func decodeGateway<S: GatewaySettings>(_ type: S.Type, _ text: String?) throws -> S? {
        guard let text else { return nil }
        do { return try JSONDecoder().decode(S.self, from: Data(text.utf8)) } catch {
            throw StoreError.database(path: database.path, reason: "stored \(S.direction.rawValue) gateway settings are unreadable: \(error)")
        }
    }

    private static func listing<S: GatewaySettings>(_ row: Row, address: String, published: S?, draft: S?) -> GatewayListing {
        let shown = published ?? draft ?? S()
        return GatewayListing(id: row["id"], address: address, direction: S.direction, kind: shown.protocolName, host: shown.connection.host,
                              status: published == nil ? .draft : .active, hasDraft: draft != nil)
    }

    private static func text(_ row: Row?, _ column: String) -> String? {
        row.flatMap { $0[column] as String? }
    }

    private static func date(_ seconds: Double?) -> Date? {
        seconds.map(Date.init(timeIntervalSince1970:))
    }
}
