import Foundation
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateIndex
@testable import PostgateMaildir
@testable import PostgateDirectory

/// The IMAP fetch ledger: the checkpoint's advance and the fetched records it makes redundant.
@Suite struct FetchLedgerTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let support = try! EmailAddress("support@acme.test")

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
    }

    func gatewayID() throws -> Int64 {
        var s = ReceivingGatewaySettings()
        s.host = "imap.customer.example"
        s.username = "support@customer.example"
        s.password = try store.secretBox().seal("secret")
        try store.editGatewayDraft(of: support) { (draft: inout ReceivingGatewaySettings) in draft = s }
        try store.publish(comment: "on")
        return try #require(try store.publishedReceivingGateways().first?.gatewayID)
    }

    func record(_ id: Int64, uid: UInt32, safe: UInt32, _ outcome: FetchCheckpoint.Outcome) throws {
        let checkpoint = FetchCheckpoint(gatewayID: id, folder: "INBOX", position: .imap(uidValidity: 7, uid: uid, safeUID: safe))
        try store.index.record(checkpoint, outcome: outcome, reason: outcome == .skipped ? "too large" : nil)
    }

    @Test func advancingTheCheckpointPrunesTheRecordsItCoversAndKeepsSkippedOnes() throws {
        let id = try gatewayID()
        try store.resetFolder(gatewayID: id, folder: "INBOX", uidValidity: 7)
        for uid: UInt32 in 1...20 { try record(id, uid: uid, safe: 0, uid == 5 ? .skipped : .stored) }
        // Records above the safe UID are what exactly-once needs: all kept.
        #expect(try store.fetchedUIDs(gatewayID: id, folder: "INBOX", uidValidity: 7, in: 1...UInt32.max).count == 20)
        try store.advanceSafeUID(gatewayID: id, folder: "INBOX", uidValidity: 7, to: 12)
        let left = try store.fetchedUIDs(gatewayID: id, folder: "INBOX", uidValidity: 7, in: 1...UInt32.max)
        #expect(left == Set([5] + Array(13...20)))
        #expect(try store.fetchedUIDs(gatewayID: id, folder: "INBOX", uidValidity: 7, in: 1...UInt32.max, importedOnly: true) == Set(13...20))
        let checkpoint = try #require(try store.folderCheckpoint(gatewayID: id, folder: "INBOX"))
        #expect(checkpoint.safeUID == 12 && checkpoint.actedUID == 12 && checkpoint.lastUID == 20)
        #expect(try store.skippedMessages(gatewayID: id).map(\.remoteID) == ["7.5"])
        // Never backwards.
        try store.advanceSafeUID(gatewayID: id, folder: "INBOX", uidValidity: 7, to: 2)
        #expect(try store.folderCheckpoint(gatewayID: id, folder: "INBOX")?.safeUID == 12)
        // A record of another UIDVALIDITY is not touched by an advance under the old one.
        let other = FetchCheckpoint(gatewayID: id, folder: "INBOX", position: .imap(uidValidity: 70, uid: 3, safeUID: 0))
        try store.index.record(other, outcome: .stored, reason: nil)
        try store.advanceSafeUID(gatewayID: id, folder: "INBOX", uidValidity: 7, to: 20)
        #expect(try store.fetchedRemoteIDs(gatewayID: id, folder: "INBOX")["70.3"] == .stored)
    }

    @Test func aGraphCheckpointMovesTheFolderLinkAndKeepsTheActionPendingUntilDone() throws {
        let id = try gatewayID()
        #expect(try store.deltaLink(gatewayID: id, folder: "inbox") == nil)
        func record(_ message: String, link: String, pending: Bool, _ outcome: FetchCheckpoint.Outcome) throws {
            let checkpoint = FetchCheckpoint(gatewayID: id, folder: "inbox", position: .graph(messageID: message, link: link, actionPending: pending))
            try store.index.record(checkpoint, outcome: outcome, reason: outcome == .skipped ? "too large" : nil)
        }
        try record("AAMk1", link: "https://graph.test/page1", pending: true, .stored)
        #expect(try store.deltaLink(gatewayID: id, folder: "inbox") == "https://graph.test/page1")
        try record("AAMk2", link: "https://graph.test/delta1", pending: true, .skipped)
        try record("AAMk3", link: "https://graph.test/delta1", pending: true, .duplicate)
        #expect(try store.deltaLink(gatewayID: id, folder: "inbox") == "https://graph.test/delta1")
        #expect(try store.fetchedRemoteIDs(gatewayID: id, folder: "inbox") == ["AAMk1": .stored, "AAMk2": .skipped, "AAMk3": .duplicate])
        // A skipped message stays on the server as it is: no action for it.
        #expect(Set(try store.pendingActions(gatewayID: id, folder: "inbox", limit: 10)) == ["AAMk1", "AAMk3"])
        try store.actionsDone(["AAMk1"], gatewayID: id, folder: "inbox")
        #expect(try store.pendingActions(gatewayID: id, folder: "inbox", limit: 10) == ["AAMk3"])
        try store.setDeltaLink(nil, gatewayID: id, folder: "inbox")
        #expect(try store.deltaLink(gatewayID: id, folder: "inbox") == nil)
        #expect(try store.folderCheckpoint(gatewayID: id, folder: "inbox") == nil, "no IMAP checkpoint for a Graph folder")
    }

    @Test func aRecordAboveTheActedUIDStaysForTheCatchUp() throws {
        let id = try gatewayID()
        try store.resetFolder(gatewayID: id, folder: "INBOX", uidValidity: 7)
        // Records committed with their checkpoint move the safe UID, not the acted UID: the
        // after-fetch action may still be owed on the server.
        for uid: UInt32 in 1...4 { try record(id, uid: uid, safe: uid, .stored) }
        let checkpoint = try #require(try store.folderCheckpoint(gatewayID: id, folder: "INBOX"))
        #expect(checkpoint.safeUID == 4 && checkpoint.actedUID == 0)
        #expect(try store.fetchedUIDs(gatewayID: id, folder: "INBOX", uidValidity: 7, in: 1...4, importedOnly: true) == Set(1...4))
    }
}

/// The sending gateway as the outbound path reads it: from the directory snapshot, kept per
/// directory generation, which every change to a gateway moves.
@Suite struct SendingGatewaySnapshotTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let support = try! EmailAddress("support@acme.test")

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
    }

    @Test func aPublishedChangeOrARotatedTokenReachesTheNextSnapshot() throws {
        #expect(try store.directorySnapshot().sendingGateway(of: support) == nil)
        #expect(try store.directorySnapshot().sendingGateway(of: EmailAddress("nobody@elsewhere.test")) == nil)
        try store.editGatewayDraft(of: support) { (s: inout SendingGatewaySettings) in
            s.host = "smtp.customer.example"
            s.username = "support@customer.example"
            s.auth = .oauth2
            var oauth = OAuthClientSettings()
            oauth.clientID = "app"
            oauth.tokenEndpoint = "https://login.example/token"
            oauth.refreshToken = SealedSecret(sealed: "aes256gcm:first")
            s.oauth = oauth
        }
        // A draft is not what replies use.
        #expect(try store.directorySnapshot().sendingGateway(of: support) == nil)
        let before = try store.directory.generation()
        try store.publish(comment: "send through the customer's server")
        #expect(try store.directory.generation() > before)
        #expect(try store.directorySnapshot().sendingGateway(of: support)?.connection.host == "smtp.customer.example")
        try store.replaceRefreshToken(of: support, direction: .sending, with: SealedSecret(sealed: "aes256gcm:second"))
        #expect(try store.directorySnapshot().sendingGateway(of: support)?.connection.oauth?.refreshToken?.sealed == "aes256gcm:second")
        try store.removeGateway(of: support, direction: .sending)
        #expect(try store.directorySnapshot().sendingGateway(of: support) == nil)
    }
}

/// The embedded connection settings keep the stored JSON form: drafts and publications
/// written before read the same, and are written back unchanged.
@Suite struct GatewaySettingsJSONTests {
    /// A receiving gateway as stored in `gateway.published` before the connection settings
    /// were embedded.
    static let storedReceiving = """
        {"afterFetch":"move","allowPlaintext":false,"auth":"oauth2","caFile":"/etc/ca.pem","connectionTimeoutMS":20000,\
        "coolOffMinutes":15,"deleteAfterDownload":false,"folders":["INBOX","Support"],"host":"imap.customer.example",\
        "kind":"imap","maxMessageBytes":52428800,"maxTries":4,"moveToFolder":"Done",\
        "oauth":{"clientID":"app","clientSecret":"aes256gcm:AAAA","mechanism":"xoauth2","refreshToken":"aes256gcm:BBBB",\
        "scope":"mail","tenant":"t1","tokenEndpoint":"https://login.example/{tenant}/token"},\
        "pollIntervalSeconds":60,"port":993,"skipTimes":["22:00-06:00"],"syncAllFolders":false,"syncStartDate":"2024-01-02",\
        "timeZone":"Europe/Berlin","tls":"implicit","useIdle":true,"username":"support@customer.example"}
        """

    static let storedSending = """
        {"allowPlaintext":false,"auth":"password","caFile":null,"connectionTimeoutMS":30000,"host":"smtp.customer.example",\
        "password":"aes256gcm:CCCC","port":null,"saveToSent":true,"sentFolder":"Sent Items","tls":"starttls",\
        "username":"support@customer.example"}
        """

    @Test func aStoredReceivingGatewayReadsIntoItsPartsAndIsWrittenBackTheSame() throws {
        let settings = try JSONDecoder().decode(ReceivingGatewaySettings.self, from: Data(Self.storedReceiving.utf8))
        #expect(settings.connection.host == "imap.customer.example" && settings.connection.port == 993)
        #expect(settings.connection.oauth?.tenant == "t1" && settings.connection.oauth?.refreshToken?.sealed == "aes256gcm:BBBB")
        #expect(settings.fetch.folders == ["INBOX", "Support"] && settings.fetch.afterFetch == .move && settings.maxTries == 4)
        #expect(settings.secrets.map(\.field) == ["password", "oauth.clientSecret", "oauth.refreshToken"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let written = try JSONSerialization.jsonObject(with: encoder.encode(settings)) as? NSDictionary
        let stored = try JSONSerialization.jsonObject(with: Data(Self.storedReceiving.utf8)) as? NSDictionary
        #expect(written == stored)
    }

    @Test func aStoredSendingGatewayReadsIntoItsParts() throws {
        let settings = try JSONDecoder().decode(SendingGatewaySettings.self, from: Data(Self.storedSending.utf8))
        #expect(settings.connection.tls == .starttls && settings.connection.password?.sealed == "aes256gcm:CCCC")
        #expect(settings.sentCopy.saveToSent && settings.sentFolder == "Sent Items")
        // Stored before sending gateways had a kind: SMTP.
        #expect(settings.kind == .smtp)
        #expect(settings.withoutSecrets.connection.password == nil)
        let again = try JSONDecoder().decode(SendingGatewaySettings.self, from: JSONEncoder().encode(settings))
        #expect(again == settings)
    }
}
