import PostgateMessage
import PostgateMaildir
import PostgateDirectory

/// Mailbox connectors (`postgate connector …`): the receiving gateway (the customer's own
/// IMAP or POP3 mailbox) and the sending gateway (the customer's SMTP submission server) of
/// an address. Edits are drafts until `publish`, which publishes them with the address
/// drafts in one transaction. Each call is one transaction; a refused request changes
/// nothing.
extension MailStore {
    /// The data directory's secret key file, `DATA/secret.key`.
    public var defaultSecretKeyPath: String { data.absolute(SecretBox.defaultFileName) }

    /// The box that seals and opens connector secrets, with the key at `keyPath` (default
    /// `DATA/secret.key`). With `create` the key is made on first need; without, a missing
    /// key file is an error (nothing sealed can be opened).
    /// - Throws: `.secretKey` for a missing, unsafe (group- or world-readable) or damaged key file.
    public func secretBox(keyPath: String? = nil, create: Bool = true) throws(StoreError) -> SecretBox {
        try SecretBox.load(keyPath: keyPath ?? defaultSecretKeyPath, create: create)
    }

    /// The receiving and sending gateway of `address`, each nil when it has none.
    /// - Throws: `.addressNotFound`, `.notAnAddress`.
    public func gateways(of address: EmailAddress) throws(StoreError)
        -> (receiving: GatewayRecord<ReceivingGatewaySettings>?, sending: GatewayRecord<SendingGatewaySettings>?) {
        let receiving = try directory.gateway(ReceivingGatewaySettings.self, of: address)
        let sending = try directory.gateway(SendingGatewaySettings.self, of: address)
        return (receiving, sending)
    }

    /// The gateway of `address` of the kind `S` (receiving or sending), nil when none.
    public func gateway<S: GatewaySettings>(_ type: S.Type, of address: EmailAddress) throws(StoreError) -> GatewayRecord<S>? {
        try directory.gateway(type, of: address)
    }

    /// Edits the draft of the gateway of `address` whose settings `edit` takes (started from
    /// the draft, else the published settings, else the defaults: a new gateway). The draft
    /// is checked as a whole (`validated()`, and the address's usage must allow the
    /// direction), so a refused edit changes nothing. Secrets must be sealed before
    /// (`secretBox().seal`).
    /// - Returns: the draft as saved (equal to the published settings when nothing is pending).
    @discardableResult
    public func editGatewayDraft<S: GatewaySettings>(of address: EmailAddress, _ edit: (inout S) throws(StoreError) -> Void) throws(StoreError) -> S {
        try directory.editGatewayDraft(of: address, edit)
    }

    /// What `publish` would change for the gateway of `address` of kind `S`.
    public func pendingGatewayChanges<S: GatewaySettings>(_ type: S.Type, of address: EmailAddress) throws(StoreError) -> [ChannelSettings.Change] {
        guard let record = try directory.gateway(type, of: address), let draft = record.draft else { return [] }
        return draft.changes(from: record.published)
    }

    /// Drops the gateway drafts of `address` (only `direction` when given). A gateway never
    /// published is removed with its draft; a published one stays as published.
    /// - Returns: the directions whose draft was dropped (empty when there was none).
    @discardableResult
    public func discardGatewayDrafts(of address: EmailAddress, direction: GatewayDirection? = nil) throws(StoreError) -> [GatewayDirection] {
        try directory.discardGatewayDrafts(of: address, direction: direction)
    }

    /// Removes the gateway of `address` in `direction` at once: settings, draft, live state
    /// and fetch checkpoints. Mail already fetched stays.
    /// - Throws: `.gatewayNotFound` when there is none.
    public func removeGateway(of address: EmailAddress, direction: GatewayDirection) throws(StoreError) {
        try directory.removeGateway(of: address, direction: direction)
    }

    /// Every gateway: address, direction, kind, host, Draft/Active and the live state.
    public func gatewayListings() throws(StoreError) -> [GatewayListing] {
        try directory.gateways()
    }

    /// The published receiving gateways of enabled addresses that receive: what the fetch
    /// engine runs, by gateway id. Drafts are not included.
    public func publishedReceivingGateways() throws(StoreError) -> [(gatewayID: Int64, address: EmailAddress, settings: ReceivingGatewaySettings)] {
        try directory.publishedReceivingGateways()
    }

    /// Stores the refresh token the provider rotated (RFC 6749 section 6) in place of the
    /// old one, sealed.
    public func replaceRefreshToken(of address: EmailAddress, direction: GatewayDirection, with token: SealedSecret) throws(StoreError) {
        try directory.replaceRefreshToken(of: address, direction: direction, with: token)
    }
}
