import Foundation
import GRDB
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex
@testable import PostgateDirectory

@Suite struct DeliveryTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support", "sales", "billing")
    }

    @Test func deliversOneMessageByteForByte() throws {
        let bytes = sampleMessage(messageID: "<m1@example.org>")
        let stored = try fixture.deliver(bytes, to: ["Support@acme.test"])
        #expect(stored.count == 1)
        let message = try #require(stored.first)
        #expect(message.uid == 1)
        #expect(message.size == bytes.count)
        #expect(message.filename.hasSuffix(",S=\(bytes.count),U=1"))
        #expect(fixture.names("maildir/acme.test/support/new") == [message.filename])
        #expect(fixture.contents("maildir/acme.test/support/new/" + message.filename) == bytes)
        #expect(fixture.names("maildir/acme.test/support/tmp") == [])
        #expect(fixture.names("spool") == [])
        #expect(try store.mailboxState(mailboxPath: "maildir/acme.test/support").uidNext == 2)

        let row = try #require(try fixture.sql { try Row.fetchOne($0, sql: "SELECT * FROM message") })
        #expect(row["uid"] == 1)
        #expect(row["filename"] == message.filename)
        #expect(row["size"] == bytes.count)
        #expect(row["internal_date"] == 1_700_000_000.0)
        #expect(row["flags"] == "")
        #expect(row["mail_from"] == "sender@example.org")
        #expect(row["rcpt_to"] == "Support@acme.test")
        #expect(row["header_from"] == "Customer <customer@example.org>")
        #expect(row["header_to"] == "support@acme.test")
        #expect(row["header_cc"] == "other@example.org")
        #expect(row["subject"] == "Help")
        #expect(row["date"] == "Tue, 14 Nov 2023 22:13:20 +0000")
        #expect(row["message_id"] == "<m1@example.org>")
        #expect(row["in_reply_to"] == "<m0@example.org>")
        #expect((row["references"] as String?)?.hasPrefix("<a@example.org>") == true)
        #expect(try store.messages(address: EmailAddress("support@acme.test")) == stored)
        #expect(try store.address(EmailAddress("support@acme.test"))?.messageCount == 1)
    }

    /// The index commit precedes the rename from `tmp/` into `new/` (the SMTP reply comes
    /// between them): a message read in that moment is found under its `tmp/` name.
    @Test func committedMessageStillInTmpIsReadable() throws {
        let bytes = sampleMessage(messageID: "<tmp@example.org>")
        let message = try #require(try fixture.deliver(bytes, to: ["support@acme.test"]).first)
        let folder = fixture.dataPath + "/maildir/acme.test/support"
        let unique = MaildirFileName.uniqueName(of: message.filename)
        #expect(rename(folder + "/new/" + message.filename, folder + "/tmp/" + unique) == 0)
        let maildir = store.data.maildir("maildir/acme.test/support")
        #expect(try maildir.read(message.filename, letters: "", limit: bytes.count + 1) == bytes)
        #expect(try maildir.read("1-not-delivered,S=1,U=9", letters: "", limit: 10) == nil)
    }

    @Test func sharesOneInodeBetweenMailboxes() throws {
        let bytes = sampleMessage()
        let stored = try fixture.deliver(bytes, to: ["support@acme.test", "sales@acme.test", "billing@acme.test", "SUPPORT@acme.test"])
        #expect(stored.map(\.mailboxPath) == ["maildir/acme.test/support", "maildir/acme.test/sales", "maildir/acme.test/billing"])
        #expect(stored.map(\.uid) == [1, 1, 1])
        let statuses = stored.compactMap { fixture.fileStatus($0.mailboxPath + "/new/" + $0.filename) }
        #expect(statuses.count == 3)
        #expect(Set(statuses.map(\.st_ino)).count == 1)
        #expect(statuses.allSatisfy { $0.st_nlink == 3 })
        for message in stored {
            #expect(fixture.contents(message.mailboxPath + "/new/" + message.filename) == bytes)
        }
        #expect(try fixture.sql { try Int.fetchOne($0, sql: "SELECT count(*) FROM message") } == 3)
        #expect(fixture.names("spool") == [])
    }

    @Test func allocatesAscendingUIDs() throws {
        for index in 1...3 {
            try fixture.deliver(sampleMessage(subject: "n\(index)"), to: ["sales@acme.test"])
        }
        let messages = try store.messages(mailboxPath: "maildir/acme.test/sales")
        #expect(messages.map(\.uid) == [1, 2, 3])
        #expect(messages.map(\.subject) == ["n1", "n2", "n3"])
        #expect(Set(messages.map(\.filename)).count == 3)
        #expect(try store.mailboxState(mailboxPath: "maildir/acme.test/sales").uidNext == 4)
        #expect(fixture.names("maildir/acme.test/sales/new") == messages.map(\.filename).sorted())
    }

    @Test func concurrentDeliveriesGetDistinctUIDs() throws {
        let fixture = self.fixture
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 24) { index in
            do {
                try fixture.deliver(sampleMessage(subject: "c\(index)"), to: ["support@acme.test", "sales@acme.test"])
            } catch {
                failures.record("\(error)")
            }
        }
        #expect(failures.all.isEmpty)
        for path in ["maildir/acme.test/support", "maildir/acme.test/sales"] {
            let messages = try store.messages(mailboxPath: path)
            #expect(messages.map(\.uid) == Array(1...24))
            #expect(Set(messages.map(\.subject)).count == 24)
            #expect(fixture.names(path + "/new").count == 24)
            #expect(try store.mailboxState(mailboxPath: path).uidNext == 25)
        }
        #expect(fixture.names("spool") == [])
    }

    @Test func streamsLargeMessagesInAnyChunks() throws {
        var body: [UInt8] = []
        for line in 0..<20_000 {
            body += Array("line \(line) of a long message, long enough to pass several buffers\r\n".utf8)
        }
        for chunk in [1, 4096, 65_536, 200_000] {
            let bytes = sampleMessage(body: "") + body  // a new Message-ID each time: not a duplicate
            let stored = try fixture.deliver(bytes, to: ["billing@acme.test"], chunk: chunk)
            #expect(fixture.contents("maildir/acme.test/billing/new/" + stored[0].filename) == bytes, "chunk \(chunk)")
            #expect(stored[0].size == bytes.count)
        }
    }

    @Test func abortRemovesTheSpoolFile() throws {
        let message = try store.beginMessage()
        try message.write(Array("partial".utf8))
        #expect(fixture.names("spool") == [message.uniqueName])
        message.abort()
        #expect(fixture.names("spool") == [])
        #expect(throws: StoreError.self) { try message.write(Array("more".utf8)) }
    }

    @Test func aDroppedMessageLeavesNoSpoolFile() throws {
        do {
            let message = try store.beginMessage()
            try message.write(Array("partial".utf8))
        }
        #expect(fixture.names("spool") == [])
    }

    @Test func aFailedDeliveryStoresNothing() throws {
        let target = try fixture.target("support@acme.test")
        try FileManager.default.removeItem(atPath: fixture.path(target.mailboxPath + "/tmp"))
        let message = try store.beginMessage()
        try message.write(sampleMessage())
        let other = try fixture.target("sales@acme.test")
        #expect(throws: StoreError.self) {
            try store.deliver(message, to: [other, target], envelope: DeliveryEnvelope(mailFrom: "", rcptTo: [:], header: MessageHeader()))
        }
        #expect(fixture.names("spool") == [])
        #expect(fixture.names(other.mailboxPath + "/tmp") == [])
        #expect(fixture.names(other.mailboxPath + "/new") == [])
        #expect(try fixture.sql { try Int.fetchOne($0, sql: "SELECT count(*) FROM message") } == 0)
        #expect(try store.mailboxState(mailboxPath: other.mailboxPath).uidNext == 1)
    }

    @Test func uidValidityAndUIDsSurviveReopening() throws {
        try fixture.deliver(sampleMessage(), to: ["support@acme.test"])
        let before = try store.mailboxState(mailboxPath: "maildir/acme.test/support")
        try fixture.reopen()
        let after = try store.mailboxState(mailboxPath: "maildir/acme.test/support")
        #expect(after == before)
        #expect(try fixture.deliver(sampleMessage(), to: ["support@acme.test"]).map(\.uid) == [2])
    }

    @Test func readdingAnAddressReusesItsMailbox() throws {
        let support = try EmailAddress("support@acme.test")
        try fixture.deliver(sampleMessage(), to: ["support@acme.test"])
        let before = try store.mailboxState(mailboxPath: "maildir/acme.test/support")
        try store.removeAddress(support)
        #expect(try store.resolveRecipient(support) == .unknownUser)
        #expect(fixture.names("maildir/acme.test/support/new").count == 1)

        var settings = ChannelSettings()
        settings.displayName = "Again"
        let record = try store.addAddress(support, settings: settings)
        #expect(record.mailboxPath == "maildir/acme.test/support")
        #expect(record.messageCount == 1)
        #expect(try store.mailboxState(mailboxPath: record.mailboxPath) == before)
        #expect(try fixture.deliver(sampleMessage(), to: ["support@acme.test"]).map(\.uid) == [2])
        // Three address mailboxes and the default queue's.
        #expect(try fixture.sql { try Int.fetchOne($0, sql: "SELECT count(*) FROM mailbox") } == 4)
    }
}

/// Errors collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [String] = []

    func record(_ error: String) { lock.withLock { errors.append(error) } }
    var all: [String] { lock.withLock { errors } }
}
