import Foundation
import GRDB
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateDirectory

/// Mailbox connectors in the store: sealing secrets, validation, drafts, publishing and
/// status, and that no secret leaves the store in clear text.
@Suite struct GatewayTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let support = try! EmailAddress("support@acme.test")
    static let password = "correct horse battery staple 42"

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
    }

    /// A complete IMAP receiving gateway with its password sealed.
    func imap() throws -> ReceivingGatewaySettings {
        var s = ReceivingGatewaySettings()
        s.host = "imap.customer.example"
        s.username = "support@customer.example"
        s.password = try store.secretBox().seal(Self.password)
        return s
    }

    func sendingSettings() throws -> SendingGatewaySettings {
        var s = SendingGatewaySettings()
        s.host = "smtp.customer.example"
        s.username = "support@customer.example"
        s.password = try store.secretBox().seal(Self.password)
        return s
    }

    // MARK: - SecretBox

    @Test func secretsRoundTripAndTheKeyFileIsPrivate() throws {
        let box = try store.secretBox()
        let sealed = try box.seal(Self.password)
        #expect(sealed.sealed.hasPrefix("aes256gcm:"))
        #expect(!sealed.sealed.contains(Self.password))
        #expect(sealed.description == "(secret)")
        #expect(try box.open(sealed) == Self.password)
        #expect(try box.seal(Self.password) != sealed, "each seal has a fresh nonce")
        #expect(FileSystem.permissions(fixture.dataPath + "/secret.key") == 0o600)
        let key = try FileSystem.read(fixture.dataPath + "/secret.key", limit: 100)
        #expect(key.count == 32)
        // Loading again uses the same key.
        #expect(try store.secretBox().open(sealed) == Self.password)
    }

    @Test func aSecretSealedWithAnotherKeyIsAClearError() throws {
        let sealed = try store.secretBox().seal(Self.password)
        let other = fixture.root + "/other.key"
        let box = try store.secretBox(keyPath: other)
        #expect(throws: StoreError.secretKey("cannot decrypt the stored secret: the secret key file \(other) is not the one it was sealed with")) {
            try box.open(sealed)
        }
        #expect(throws: StoreError.self) { try box.open(SealedSecret(sealed: "plain text")) }
    }

    @Test func aKeyFileOthersCanReadIsRefused() throws {
        _ = try store.secretBox()
        let path = fixture.dataPath + "/secret.key"
        #expect(chmod(path, 0o640) == 0)
        do {
            _ = try store.secretBox()
            Issue.record("a group-readable key file was used")
        } catch {
            #expect("\(error)".contains("chmod 600 \(path)"))
            #expect(!"\(error)".contains("\n"))
        }
        #expect(chmod(path, 0o600) == 0)
        _ = try store.secretBox()
    }

    @Test func aMissingKeyFileIsMadeOnlyWhenAsked() throws {
        #expect(!FileSystem.exists(fixture.dataPath + "/secret.key"), "opening the store makes no key")
        #expect(throws: StoreError.self) { try store.secretBox(create: false) }
        _ = try store.secretBox(create: true)
        #expect(FileSystem.exists(fixture.dataPath + "/secret.key"))
    }

    // MARK: - Validation

    typealias Change = @Sendable (inout ReceivingGatewaySettings) -> Void
    static let badReceivingSettings: [(String, Change)] = [
        ("host", { s in s.host = "" }),
        ("host", { s in s.host = "bad host!" }),
        ("port", { s in s.port = 0 }),
        ("port", { s in s.port = 65_536 }),
        ("user name", { s in s.username = "" }),
        ("password", { s in s.password = nil }),
        ("OAuth", { s in s.auth = .oauth2 }),
        ("allow-plaintext", { s in s.tls = .none }),
        ("max tries", { s in s.maxTries = 0 }),
        ("max tries", { s in s.maxTries = 101 }),
        ("cool-off", { s in s.coolOffMinutes = 10_081 }),
        ("skip time", { s in s.skipTimes = ["25:00-01:00"] }),
        ("skip time", { s in s.skipTimes = ["10:00-10:00"] }),
        ("skip time", { s in s.skipTimes = ["1000-1100"] }),
        ("time zone", { s in s.timeZone = "Mars/Olympus" }),
        ("connection timeout", { s in s.connectionTimeoutMS = 999 }),
        ("sync start date", { s in s.syncStartDate = "2026-02-30" }),
        ("sync start date", { s in s.syncStartDate = "26-1-1" }),
        ("folder", { s in s.folders = [] }),
        ("CR, LF or NUL", { s in s.folders = ["INBOX\r\nA1 LOGOUT"] }),
        ("move-to-folder", { s in s.afterFetch = .move }),
        ("POP3", { s in s.deleteAfterDownload = true }),
        ("IMAP", { s in s.kind = .pop3; s.afterFetch = .markSeen }),
        ("poll interval", { s in s.pollIntervalSeconds = 5 }),
        ("max message size", { s in s.maxMessageBytes = 1023 }),
        ("max message size", { s in s.maxMessageBytes = (1 << 30) + 1 }),
        ("CA file", { s in s.caFile = "/nonexistent/ca.pem" }),
    ]

    @Test(arguments: badReceivingSettings)
    func badReceivingSettingsAreRefusedAndChangeNothing(needle: String, change: Change) throws {
        try expectRefused(try imap(), change, needle: needle)
    }

    /// `change` applied to `settings` is refused with one line naming `needle`, and no
    /// receiving gateway is saved.
    func expectRefused(_ settings: ReceivingGatewaySettings, _ change: Change, needle: String) throws {
        var settings = settings
        change(&settings)
        do {
            try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = settings }
            Issue.record("accepted: \(needle)")
        } catch {
            #expect("\(error)".contains(needle), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
        #expect(try store.gateways(of: support).receiving == nil)
    }

    @Test func oauthNeedsAClientATokenEndpointAndARefreshToken() throws {
        var s = try imap()
        s.auth = .oauth2
        s.oauth = OAuthClientSettings()
        #expect(throws: StoreError.self) { try s.validated() }
        s.oauth?.clientID = "client"
        s.oauth?.tokenEndpoint = "http://login.example/token"
        #expect(throws: StoreError.invalidSetting("the token endpoint 'http://login.example/token' must use https (http only to a loopback host)")) {
            try s.validated()
        }
        s.oauth?.tokenEndpoint = "https://login.example/{tenant}/oauth2/v2.0/token"
        #expect(throws: StoreError.self) { try s.validated() }
        s.oauth?.refreshToken = try store.secretBox().seal("refresh")
        _ = try s.validated()
        s.oauth?.tokenEndpoint = "http://127.0.0.1:8080/token"
        _ = try s.validated()
    }

    @Test func hostsAreCanonical() throws {
        var s = try imap()
        s.host = "IMAP.Bücher.example"
        #expect(try s.validated().host == "imap.xn--bcher-kva.example")
        s.host = "[2001:db8::1]"
        #expect(try s.validated().host == "2001:db8::1")
        s.host = "192.0.2.7"
        #expect(try s.validated().host == "192.0.2.7")
        s.skipTimes = ["22:00-06:00"]
        s.syncStartDate = "2024-02-29"
        s.timeZone = "Europe/Berlin"
        _ = try s.validated()
    }

    @Test func theAddressUsageMustAllowTheDirection() throws {
        try store.editAndPublish(support, comment: "outbound only") { $0.usage = .outbound }
        let receiving = try imap()
        #expect(throws: StoreError.self) {
            try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = receiving }
        }
        let sending = try sendingSettings()
        try store.editGatewayDraft(of: support) { (s: inout SendingGatewaySettings) in s = sending }
        // An address with a sending gateway cannot become inbound-only.
        #expect(throws: StoreError.self) { try store.editDraft(of: support) { $0.usage = .inbound } }
    }

    @Test func savingToSentNeedsAnIMAPReceivingGateway() throws {
        var sending = try sendingSettings()
        sending.saveToSent = true
        #expect(throws: StoreError.self) {
            try store.editGatewayDraft(of: support) { (s: inout SendingGatewaySettings) in s = sending }
        }
        let receiving = try imap()
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = receiving }
        try store.editGatewayDraft(of: support) { (s: inout SendingGatewaySettings) in s = sending }
    }

    /// A Graph receiving gateway with the client credentials grant.
    func graph() throws -> ReceivingGatewaySettings {
        var s = ReceivingGatewaySettings()
        s.kind = .graph
        s.username = "support@customer.example"
        s.auth = .oauth2
        var oauth = OAuthClientSettings()
        oauth.clientID = "11111111-2222-3333-4444-555555555555"
        oauth.tenant = "customer.example"
        oauth.clientSecret = try store.secretBox().seal("client secret")
        s.oauth = oauth
        return s
    }

    @Test func aGraphGatewayTakesTheServiceFromItsURLAndTheIdentityPlatformByDefault() throws {
        let checked = try graph().validated()
        #expect(checked.host == "graph.microsoft.com" && checked.graphURL == nil && checked.tls == .implicit)
        #expect(checked.oauth?.tokenEndpoint == GatewayConnectionSettings.defaultGraphTokenEndpoint)
        var national = try graph()
        national.graphURL = "https://Graph.Microsoft.US/v1.0"
        #expect(try national.validated().host == "graph.microsoft.us")
        var local = try graph()
        local.graphURL = "http://127.0.0.1:8443/v1.0"
        local.oauth?.refreshToken = try store.secretBox().seal("refresh")
        local.oauth?.clientSecret = nil
        _ = try local.validated()
    }

    static let badGraphSettings: [(String, Change)] = [
        ("OAuth 2.0", { s in s.auth = .password }),
        ("client secret", { s in s.oauth?.clientSecret = nil }),
        ("--oauth-tenant", { s in s.oauth?.tenant = nil }),
        ("must use https", { s in s.graphURL = "http://graph.example/v1.0" }),
        ("without a query", { s in s.graphURL = "https://graph.example/v1.0?x=1" }),
        ("the mailbox", { s in s.username = "" }),
        ("'/'", { s in s.username = "../groups" }),
        ("POP3 setting", { s in s.deleteAfterDownload = true }),
        ("--move-to-folder", { s in s.afterFetch = .move }),
    ]

    @Test(arguments: badGraphSettings)
    func badGraphSettingsAreRefusedAndChangeNothing(needle: String, change: Change) throws {
        try expectRefused(try graph(), change, needle: needle)
    }

    /// A Graph receiving gateway that reads a Microsoft 365 group instead of a mailbox.
    func group() throws -> ReceivingGatewaySettings {
        var s = try graph()
        s.username = ""
        s.group = "02BD9FD6-8F93-4758-87C3-1FB73740A315"
        return s
    }

    @Test func aGroupGatewayIsNamedByIdOrMailAndItsSettingsStayCompatible() throws {
        #expect(try group().validated().group == "02bd9fd6-8f93-4758-87c3-1fb73740a315")
        var byMail = try group()
        byMail.group = "Team@Customer.example"
        #expect(try byMail.validated().group == "Team@Customer.example")
        var cleared = try graph()
        cleared.group = ""
        #expect(try cleared.validated().group == nil)
        // Settings stored before groups existed read as a mailbox gateway, and a mailbox
        // gateway is stored as before, without the key.
        let mailbox = try JSONEncoder().encode(try graph().validated())
        #expect(!String(decoding: mailbox, as: UTF8.self).contains("\"group\""))
        #expect(try JSONDecoder().decode(ReceivingGatewaySettings.self, from: mailbox).group == nil)
        let settings = try group().validated()
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = settings }
        #expect(try store.gateways(of: support).receiving?.draft?.group == "02bd9fd6-8f93-4758-87c3-1fb73740a315")
    }

    static let badGroupSettings: [(String, Change)] = [
        ("not both", { s in s.username = "support@customer.example" }),
        ("neither a group id", { s in s.group = "support team" }),
        ("neither a group id", { s in s.group = "02bd9fd6-8f93-4758-87c3" }),
        ("left as they are", { s in s.afterFetch = .markSeen }),
        ("folders are a mailbox setting", { s in s.folders = ["Support"] }),
        ("folders are a mailbox setting", { s in s.syncAllFolders = true }),
    ]

    @Test(arguments: badGroupSettings)
    func badGroupSettingsAreRefusedAndChangeNothing(needle: String, change: Change) throws {
        try expectRefused(try group(), change, needle: needle)
    }

    @Test func aGraphSendingGatewayKeepsItsCopyInSentItemsWithoutAnIMAPGateway() throws {
        var sending = SendingGatewaySettings()
        sending.kind = .graph
        sending.connection = try graph().connection
        try store.editGatewayDraft(of: support) { (s: inout SendingGatewaySettings) in s = sending }
        let stored = try #require(try store.gateways(of: support).sending?.draft)
        #expect(stored.kind == .graph && stored.saveToSent && stored.sentFolder == nil && stored.protocolName == "graph")
        sending.sentFolder = "Sent"
        #expect(throws: StoreError.self) {
            try store.editGatewayDraft(of: support) { (s: inout SendingGatewaySettings) in s = sending }
        }
    }

    // MARK: - Drafts, publishing, status

    @Test func aGatewayIsADraftUntilPublishedThenActive() throws {
        let settings = try imap()
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = settings }
        var record = try #require(try store.gateways(of: support).receiving)
        #expect(record.status == .draft && record.published == nil && record.draft?.host == "imap.customer.example")
        #expect(try store.publishedReceivingGateways().isEmpty)
        #expect(try store.gatewayListings().map(\.status) == [.draft])

        let publication = try store.publish(comment: "connect the customer's mailbox")
        let fields = try #require(publication.addresses.first).changes
        #expect(fields.contains { $0.field == "receiving.host" && $0.draft == "\"imap.customer.example\"" })
        let password = try #require(fields.first { $0.field == "receiving.password" })
        #expect(password.published == "null" && password.draft == "(changed)")
        record = try #require(try store.gateways(of: support).receiving)
        #expect(record.status == .active && record.draft == nil)
        let live = try store.publishedReceivingGateways()
        #expect(live.map(\.address) == [support] && live.first?.settings.host == "imap.customer.example")
        #expect(try store.secretBox().open(try #require(live.first?.settings.password)) == Self.password)

        // A later edit is a draft beside the active settings.
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s.pollIntervalSeconds = 300 }
        #expect(try store.pendingGatewayChanges(ReceivingGatewaySettings.self, of: support).map(\.field) == ["receiving.pollIntervalSeconds"])
        #expect(try store.publishedReceivingGateways().first?.settings.pollIntervalSeconds == 60)
        let listing = try #require(try store.gatewayListings().first)
        #expect(listing.status == .active && listing.hasDraft && listing.kind == "imap" && listing.state == nil)
        try store.discardGatewayDrafts(of: support)
        #expect(try store.gateways(of: support).receiving?.draft == nil)
        #expect(try store.gateways(of: support).receiving?.status == .active)
    }

    @Test func aDraftEqualToWhatIsPublishedIsDroppedAndADraftOnlyGatewayGoesWithIt() throws {
        let settings = try imap()
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = settings }
        #expect(try store.discardGatewayDrafts(of: support) == [.receiving])
        #expect(try store.gateways(of: support).receiving == nil)
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = settings }
        try store.publish(comment: "on")
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s.maxTries = 5 }
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s.maxTries = 3 }
        #expect(try store.gateways(of: support).receiving?.draft == nil)
        #expect(throws: StoreError.self) { try store.publish(comment: "nothing") }
    }

    @Test func publishingGatewaysAndAddressSettingsIsOneTransaction() throws {
        try store.editDraft(of: support) { $0.displayName = "Acme" }
        let receiving = try imap()
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = receiving }
        let sending = try sendingSettings()
        try store.editGatewayDraft(of: support) { (s: inout SendingGatewaySettings) in s = sending }
        let publication = try store.publish([support], comment: "all at once")
        let fields = publication.addresses.flatMap { $0.changes.map(\.field) }
        #expect(fields.contains("displayName") && fields.contains("receiving.host") && fields.contains("sending.host"))
        #expect(try store.gatewayListings().map(\.direction) == [.receiving, .sending])
        #expect(try store.gatewayListings().allSatisfy { $0.status == .active })
    }

    @Test func aRefusedPublishChangesNothing() throws {
        let receiving = try imap()
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = receiving }
        try store.editDraft(of: support) { $0.displayName = "Acme" }
        // Make the stored draft break a rule behind the directory's back.
        try fixture.store.database.write { db in
            try db.execute(sql: "UPDATE gateway SET draft = json_set(draft, '$.maxTries', 0)")
        }
        #expect(throws: StoreError.self) { try store.publish(comment: "bad") }
        #expect(try store.address(support)?.displayName == nil)
        #expect(try store.gateways(of: support).receiving?.published == nil)
    }

    @Test func liveStateIsListed() throws {
        let settings = try imap()
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = settings }
        try store.publish(comment: "on")
        let id = try #require(try store.publishedReceivingGateways().first?.gatewayID)
        try fixture.store.database.write { db in
            try db.execute(sql: """
                INSERT INTO gateway_state (gateway_id, state, tries, last_error, cooling_until, fetched, updated_at)
                VALUES (?, 'cooling-off', 3, 'authentication failed', 2000000000, 12, 1000)
                """, arguments: [id])
        }
        let state = try #require(try store.gatewayListings().first?.state)
        #expect(state.state == .coolingOff && state.tries == 3 && state.fetched == 12 && state.lastError == "authentication failed")
        #expect(state.coolingUntil == Date(timeIntervalSince1970: 2_000_000_000))
        #expect(try store.gatewayListings().first?.maxTries == 3)
        try store.removeGateway(of: support, direction: .receiving)
        #expect(try store.gatewayListings().isEmpty)
        #expect(throws: StoreError.gatewayNotFound(support, direction: "receiving")) {
            try store.removeGateway(of: support, direction: .receiving)
        }
    }

    @Test func removingTheAddressRemovesItsGateways() throws {
        let settings = try imap()
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = settings }
        try store.publish(comment: "on")
        try store.removeAddress(support)
        #expect(try store.gatewayListings().isEmpty)
        #expect(try store.publishedReceivingGateways().isEmpty)
    }

    // MARK: - Secrets stay sealed

    @Test func noSecretInTheExportTheDatabaseOrTheDisplay() throws {
        var settings = try imap()
        settings.auth = .oauth2
        var oauth = OAuthClientSettings()
        oauth.clientID = "client-id"
        oauth.clientSecret = try store.secretBox().seal("client-secret-value")
        oauth.refreshToken = try store.secretBox().seal("refresh-token-value")
        oauth.tokenEndpoint = "https://login.example/token"
        settings.oauth = oauth
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s = settings }
        try store.publish(comment: "on")
        try store.editGatewayDraft(of: support) { (s: inout ReceivingGatewaySettings) in s.maxTries = 4 }

        let export = try store.exportChannels()
        let gateway = try #require(export.gateways?.first)
        #expect(gateway.receiving?.host == "imap.customer.example" && gateway.receiving?.password == nil)
        #expect(gateway.receiving?.oauth?.clientSecret == nil && gateway.receiving?.oauth?.refreshToken == nil)
        #expect(gateway.receivingDraft?.maxTries == 4 && gateway.receivingDraft?.password == nil)
        let text = String(decoding: try JSONEncoder().encode(export), as: UTF8.self)
        let record = try #require(try store.gateways(of: support).receiving)
        let shown = (record.published?.displayFields ?? []).map { "\($0.field)=\($0.value)" }.joined(separator: "\n")
        #expect(shown.contains("password=\"set\"") && shown.contains("oauth.refreshToken=\"set\""))
        let publications = String(decoding: try JSONEncoder().encode(try store.publications()), as: UTF8.self)
        for secret in [Self.password, "client-secret-value", "refresh-token-value"] {
            #expect(!text.contains(secret) && !shown.contains(secret) && !publications.contains(secret))
        }
        #expect(!text.contains("aes256gcm:") && !shown.contains("aes256gcm:") && !publications.contains("aes256gcm:"))
        let stored = try fixture.store.database.read { db in
            try String.fetchAll(db, sql: "SELECT coalesce(published, '') || coalesce(draft, '') FROM gateway").joined()
        }
        #expect(stored.contains("aes256gcm:") && !stored.contains(Self.password) && !stored.contains("refresh-token-value"))
    }
}
