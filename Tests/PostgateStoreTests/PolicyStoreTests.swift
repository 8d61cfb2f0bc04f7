import Foundation
import GRDB
import PostgateMessage
import PostgatePolicy
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex

@Suite struct PolicyStoreTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support", "sales")
        try store.addAlias(EmailAddress("help@acme.test"), to: EmailAddress("support@acme.test"))
    }

    private func entries(_ texts: String...) throws -> [BlocklistEntry] {
        try texts.map { try BlocklistEntry(parsing: $0) }
    }

    @Test func blocklistIsPerAddressAndAnAliasNamesItsAddress() throws {
        let support = try EmailAddress("support@acme.test")
        try store.addToBlocklist(entries("bob@bücher.example", "spam.example"), of: EmailAddress("HELP@acme.test"))
        #expect(try store.blocklist(of: support).map(\.entry) == ["bob@bücher.example", "spam.example"])
        #expect(try store.blocklist(of: support).map(\.value) == ["bob@xn--bcher-kva.example", "spam.example"])
        #expect(try store.blocklist(of: EmailAddress("sales@acme.test")).isEmpty)
        #expect(try store.blocklist(of: support, containing: "BÜCHER").count == 1)
        #expect(try store.blocklist(of: support, containing: "xn--bcher").count == 1)
        #expect(try store.blocklist(of: support, containing: "nothing").isEmpty)
        #expect(try store.blocklistValues(of: support) == ["bob@xn--bcher-kva.example", "spam.example"])
    }

    @Test func addingIsAllOrNothing() throws {
        let support = try EmailAddress("support@acme.test")
        try store.addToBlocklist(entries("old@example.com"), of: support)
        #expect(throws: StoreError.blocklistEntryExists(support, entry: "old@example.com")) {
            try store.addToBlocklist(entries("new@example.com", "OLD@example.com"), of: support)
        }
        #expect(try store.blocklist(of: support).map(\.entry) == ["old@example.com"])
    }

    @Test func removingAndUnknownAddresses() throws {
        let support = try EmailAddress("support@acme.test")
        try store.addToBlocklist(entries("spam.example"), of: support)
        try store.removeFromBlocklist(BlocklistEntry(parsing: "@SPAM.example"), of: support)
        #expect(try store.blocklist(of: support).isEmpty)
        #expect(throws: StoreError.blocklistEntryNotFound(support, entry: "spam.example")) {
            try store.removeFromBlocklist(BlocklistEntry(parsing: "spam.example"), of: support)
        }
        let nobody = try EmailAddress("nobody@acme.test")
        #expect(throws: StoreError.addressNotFound(nobody)) { try store.blocklist(of: nobody) }
    }

    @Test func lookupByMailboxFindsTheMostSpecificEntry() throws {
        let support = try EmailAddress("support@acme.test")
        try store.addToBlocklist(entries("example.com", "bob@mx.example.com"), of: support)
        let target = try fixture.target("support@acme.test")
        #expect(try store.blocklistEntry(blocking: EmailAddress("Bob@MX.example.com"), for: target)?.value == "bob@mx.example.com")
        #expect(try store.blocklistEntry(blocking: EmailAddress("eve@mx.example.com"), for: target)?.value == "example.com")
        #expect(try store.blocklistEntry(blocking: EmailAddress("eve@example.org"), for: target) == nil)
        #expect(try store.blocklistEntry(blocking: EmailAddress("bob@mx.example.com"), for: fixture.target("sales@acme.test")) == nil)
    }

    @Test func removingTheAddressRemovesItsBlocklist() throws {
        try store.addToBlocklist(entries("spam.example"), of: EmailAddress("sales@acme.test"))
        try store.removeAddress(EmailAddress("sales@acme.test"))
        #expect(try fixture.sql { try Int.fetchOne($0, sql: "SELECT count(*) FROM blocklist") } == 0)
    }

    private func quarantine(_ bytes: [UInt8], for address: String, reason: QuarantineReason) throws -> StoredMessage {
        let target = try fixture.target(address)
        let held = try store.quarantineTarget(for: target)
        let message = try store.beginMessage()
        try message.write(bytes)
        let envelope = DeliveryEnvelope(
            mailFrom: "eve@evil.example", rcptTo: [held: address], header: MessageHeader.parse(bytes),
            policy: [held: PolicyVerdict.quarantined(reason).label!])
        return try store.deliver(message, to: [held], envelope: envelope)[0]
    }

    private let sample = Array("From: eve@evil.example\r\nTo: support@acme.test\r\nSubject: hi\r\n\r\nbody\r\n".utf8)

    @Test func quarantineIsAMaildirOutsideTheAddressMailboxWithTheReason() throws {
        let stored = try quarantine(sample, for: "support@acme.test", reason: .senderDomainNotAllowed("evil.example"))
        #expect(stored.mailboxPath == "quarantine/acme.test/support")
        #expect(fixture.contents("quarantine/acme.test/support/new/" + stored.filename) == sample)
        #expect(fixture.names("maildir/acme.test/support/new").isEmpty)
        let held = try store.quarantined()
        #expect(held.count == 1)
        #expect(held[0].address == "support@acme.test")
        #expect(held[0].reason == "sender-domain-not-allowed")
        #expect(held[0].message.policy == "quarantined:sender-domain-not-allowed")
        #expect(held[0].addressMailbox.mailboxPath == "maildir/acme.test/support")
        #expect(try store.quarantined(address: EmailAddress("help@acme.test")).count == 1)
        #expect(try store.quarantined(address: EmailAddress("sales@acme.test")).isEmpty)
        // The same quarantine mailbox is reused.
        _ = try quarantine(sample, for: "help@acme.test", reason: .notARecipient)
        #expect(try store.quarantined().map(\.message.uid) == [1, 2])
        #expect(try store.messages(address: EmailAddress("support@acme.test")).isEmpty)
    }

    @Test func releaseDeliversToTheAddressMailboxAndLeavesTheQuarantine() throws {
        let stored = try quarantine(sample, for: "support@acme.test", reason: .notARecipient)
        let id = try store.quarantined()[0].id
        let released = try store.release(quarantinedID: id)
        #expect(released.mailboxPath == "maildir/acme.test/support")
        #expect(released.policy == nil)
        #expect(released.subject == "hi")
        #expect(released.mailFrom == "eve@evil.example")
        #expect(fixture.contents("maildir/acme.test/support/new/" + released.filename) == sample)
        #expect(fixture.names("quarantine/acme.test/support/new").isEmpty)
        #expect(fixture.names("spool").isEmpty)
        #expect(try store.quarantined().isEmpty)
        #expect(try store.messages(address: EmailAddress("support@acme.test")).count == 1)
        #expect(throws: StoreError.quarantinedMessageNotFound(id)) { try store.release(quarantinedID: id) }
        _ = stored
    }

    @Test func deleteRemovesRowAndFileAndNothingElse() throws {
        let stored = try quarantine(sample, for: "support@acme.test", reason: .notARecipient)
        try fixture.deliver(sample, to: ["support@acme.test"])
        let id = try store.quarantined()[0].id
        #expect(throws: StoreError.quarantinedMessageNotFound(99)) { try store.deleteQuarantined(id: 99) }
        // An ordinary message's row id is not a quarantine id.
        let ordinaryID = try #require(try fixture.sql { try Int64.fetchOne($0, sql: "SELECT id FROM message WHERE policy IS NULL") })
        #expect(throws: StoreError.quarantinedMessageNotFound(ordinaryID)) { try store.deleteQuarantined(id: ordinaryID) }
        let highest = "SELECT highest_modseq FROM mailbox WHERE path = 'quarantine/acme.test/support'"
        let before = try fixture.sql { try Int64.fetchOne($0, sql: highest) }
        try store.deleteQuarantined(id: id)
        #expect(try store.quarantined().isEmpty)
        #expect(try fixture.sql { try Int64.fetchOne($0, sql: highest) }! > before!, "an expunge raises HIGHESTMODSEQ")
        #expect(fixture.names("quarantine/acme.test/support/new").isEmpty)
        #expect(fixture.names("maildir/acme.test/support/new").count == 1)
        _ = stored
    }

    @Test func thePolicyLabelIsStoredOnTheRow() throws {
        let target = try fixture.target("support@acme.test")
        let message = try store.beginMessage()
        try message.write(sample)
        let envelope = DeliveryEnvelope(mailFrom: "", rcptTo: [target: "support@acme.test"], header: MessageHeader.parse(sample),
                                        policy: [target: "auto-reply"])
        _ = try store.deliver(message, to: [target], envelope: envelope)
        #expect(try store.messages(address: EmailAddress("support@acme.test")).map(\.policy) == ["auto-reply"])
        #expect(try fixture.sql { try String.fetchOne($0, sql: "SELECT policy FROM message") } == "auto-reply")
    }
}
