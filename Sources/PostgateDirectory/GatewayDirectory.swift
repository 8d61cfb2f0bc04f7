import Foundation
import PostgateIndex
import PostgateMessage
import PostgateMaildir

/// The mailbox connectors of addresses: the receiving and sending gateway of each, as
/// drafts and published settings, with the live state the fetch engine keeps. Each call is
/// one transaction; a refused request changes nothing. Drafts are published by
/// `ChannelDirectory.publish` together with the address drafts.
package protocol GatewayDirectory: Sendable {
    /// The gateway of `address` in `S.direction`, nil when it has none.
    func gateway<S: GatewaySettings>(_ type: S.Type, of address: EmailAddress) throws(StoreError) -> GatewayRecord<S>?
    /// Applies `edit` to the draft (else a copy of the published settings, else the
    /// defaults) and saves it as the draft, checked as a whole; a draft equal to what is
    /// published is dropped.
    func editGatewayDraft<S: GatewaySettings>(of address: EmailAddress, _ edit: (inout S) throws(StoreError) -> Void) throws(StoreError) -> S
    /// Drops the gateway drafts of `address` (both directions when nil); a gateway never
    /// published goes with its draft.
    /// - Returns: the directions whose draft was dropped.
    func discardGatewayDrafts(of address: EmailAddress, direction: GatewayDirection?) throws(StoreError) -> [GatewayDirection]
    /// Replaces the stored OAuth 2.0 refresh token of a gateway (published, and the draft's
    /// when it held the same one): the provider rotated it (RFC 6749 section 6), and the
    /// old one may stop working. Not a publication: the authorization is the same.
    func replaceRefreshToken(of address: EmailAddress, direction: GatewayDirection, with token: SealedSecret) throws(StoreError)
    /// Removes the gateway, published settings, draft, state and checkpoints, at once.
    func removeGateway(of address: EmailAddress, direction: GatewayDirection) throws(StoreError)
    /// Every gateway with its address, status and live state, by address then direction.
    func gateways() throws(StoreError) -> [GatewayListing]
    /// The published receiving gateways of enabled, receiving addresses: what the fetch
    /// engine runs.
    func publishedReceivingGateways() throws(StoreError) -> [(gatewayID: Int64, address: EmailAddress, settings: ReceivingGatewaySettings)]
}

/// One gateway as `postgate connector list` shows it.
/// JSON keys: id, address, direction, kind, host, status, hasDraft, state.
public struct GatewayListing: Sendable, Codable, Equatable {
    public var id: Int64
    public var address: String
    public var direction: GatewayDirection
    /// `imap`, `pop3` or `smtp`.
    public var kind: String
    /// The published host, else the draft's.
    public var host: String
    public var status: GatewayStatus
    public var hasDraft: Bool
    /// The published `maxTries` of a receiving gateway (for "tries n/max").
    public var maxTries: Int?
    /// What the fetch engine last wrote; nil before its first attempt.
    public var state: GatewayLiveState?

    /// Writes every key, `null` for absent values, so scripts see a stable set of keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(address, forKey: .address)
        try c.encode(direction, forKey: .direction)
        try c.encode(kind, forKey: .kind)
        try c.encode(host, forKey: .host)
        try c.encode(status, forKey: .status)
        try c.encode(hasDraft, forKey: .hasDraft)
        try c.encode(maxTries, forKey: .maxTries)
        try c.encode(state, forKey: .state)
    }
}

