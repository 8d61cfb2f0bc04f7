import Foundation
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateStore

/// The receiving and sending gateways (connectors) of addresses, as `postgate connector
/// list|show|remove|discard` see them: settings only without their secrets, a secret only as
/// set or not set; each change in the audit log.
extension APIHandler {
    func listConnectors(_ input: Operations.ListConnectors.Input) async throws -> Operations.ListConnectors.Output {
        let listings = try await blocking { store throws(StoreError) in try store.gatewayListings() }
        // The store's order (address, then direction); keys compare as text.
        let key = { (g: GatewayListing) in g.address + "\u{0}" + g.direction.rawValue }
        let page = try Pagination.page(listings.sorted { key($0) < key($1) }, key: key, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.connector), nextCursor: page.next))))
    }

    func getConnectors(_ input: Operations.GetConnectors.Input) async throws -> Operations.GetConnectors.Output {
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let (receiving, sending) = try await blocking { store throws(StoreError) in try store.gateways(of: email) }
        return .ok(.init(body: .json(.init(address: email.canonical, receiving: try receiving.map(Self.connectorDetail),
                                           sending: try sending.map(Self.connectorDetail)))))
    }

    func removeConnector(_ input: Operations.RemoveConnector.Input) async throws -> Operations.RemoveConnector.Output {
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let direction = Self.direction(input.path.direction)
        try await blocking { store throws(StoreError) in try store.removeGateway(of: email, direction: direction) }
        try await audit("connector.remove", email.canonical, direction.rawValue)
        return .noContent(.init())
    }

    func discardConnectorDraft(_ input: Operations.DiscardConnectorDraft.Input) async throws -> Operations.DiscardConnectorDraft.Output {
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let direction = Self.direction(input.path.direction)
        let dropped = try await blocking { store throws(StoreError) in try store.discardGatewayDrafts(of: email, direction: direction) }
        if !dropped.isEmpty { try await audit("connector.discard", email.canonical, direction.rawValue) }
        return .ok(.init(body: .json(.init(address: email.canonical,
                                           discarded: dropped.compactMap { .init(rawValue: $0.rawValue) }))))
    }

    static func direction(_ value: Components.Parameters.ConnectorDirection) -> GatewayDirection {
        value == .receiving ? .receiving : .sending
    }

    static func connector(_ g: GatewayListing) -> Components.Schemas.Connector {
        .init(id: g.id, address: g.address, direction: .init(rawValue: g.direction.rawValue) ?? .receiving, kind: g.kind, host: g.host,
              status: .init(rawValue: g.status.rawValue) ?? .draft, hasDraft: g.hasDraft, maxTries: g.maxTries,
              state: g.state.map { s in
                  .init(state: .init(rawValue: s.state.rawValue) ?? .failed, tries: s.tries, lastError: s.lastError,
                        coolingUntil: s.coolingUntil, lastAttemptAt: s.lastAttemptAt, lastSuccessAt: s.lastSuccessAt,
                        fetched: s.fetched, skipped: s.skipped, updatedAt: s.updatedAt)
              })
    }

    static func connectorDetail<S: GatewaySettings>(_ record: GatewayRecord<S>) throws -> Components.Schemas.ConnectorDetail {
        .init(status: .init(rawValue: record.status.rawValue) ?? .draft, published: try record.published.map(connectorSide),
              draft: try record.draft.map(connectorSide), pending: (record.draft?.changes(from: record.published) ?? []).map(change))
    }

    /// The settings without their secrets, as the command's JSON has them (a free-form object
    /// in the document), and each secret as set or not set.
    static func connectorSide<S: GatewaySettings>(_ settings: S) throws -> Components.Schemas.ConnectorSide {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return .init(settings: try decoder.decode(Components.Schemas.ConnectorSide.SettingsPayload.self,
                                                  from: try encoder.encode(settings.withoutSecrets)),
                     secrets: try decoder.decode(Components.Schemas.ConnectorSide.SecretsPayload.self,
                                                 from: try encoder.encode(settings.secretStatus)))
    }
}
