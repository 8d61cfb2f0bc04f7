import Foundation
import GRDB
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex

/// Crashes simulated by doing the delivery steps by hand, then `recover()` as at startup.
@Suite struct RecoveryTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let mailbox = "maildir/acme.test/support"

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
    }

    /// Steps 1 and 2 of a delivery: a spool file and its link in `tmp/`.
    private func spoolAndLink(_ bytes: [UInt8]) throws -> (IncomingMessage, MailboxTarget) {
        let message = try store.beginMessage()
        try message.write(bytes)
        _ = try message.seal(syncing: [], with: store.journal)
        let target = try fixture.target("support@acme.test")
        try store.data.maildir(target.mailboxPath).linkIntoTmp(message.spoolPath, uniqueName: message.uniqueName)
        return (message, target)
    }

    @Test func completesACommittedMessageLeftInTmp() throws {
        let bytes = sampleMessage()
        let (message, target) = try spoolAndLink(bytes)
        let pending = PendingMessage(
            message: StoredMessage(mailboxID: target.mailboxID, mailboxPath: target.mailboxPath, size: bytes.count,
                                   internalDate: Date(), mailFrom: "", rcptTo: "support@acme.test",
                                   header: MessageHeader.parse(bytes)),
            uniqueName: message.uniqueName)
        let stored = try store.index.insert([pending])
        // Crash here: committed, not yet renamed into new/, spool file still there.
        try fixture.reopen()
        let report = try withExtendedLifetime(message) { try store.recover() }
        #expect(report == RecoveryReport(spoolFilesRemoved: 1, messagesCompleted: 1, tmpFilesRemoved: 0))
        #expect(fixture.names(mailbox + "/tmp") == [])
        #expect(fixture.names(mailbox + "/new") == [stored[0].filename])
        #expect(fixture.contents(mailbox + "/new/" + stored[0].filename) == bytes)
        #expect(fixture.names("spool") == [])
        #expect(try store.messages(mailboxPath: mailbox).map(\.uid) == [1])
    }

    @Test func removesAnUnacknowledgedMessageFromTmp() throws {
        let committed = try fixture.deliver(sampleMessage(subject: "kept"), to: ["support@acme.test"])
        store.journal.stop()  // its file flushed, as before a crash that comes later
        let (message, _) = try spoolAndLink(sampleMessage(subject: "never acknowledged"))
        // Crash here: linked into tmp/, no index row.
        let report = try withExtendedLifetime(message) { try store.recover() }
        #expect(report == RecoveryReport(spoolFilesRemoved: 1, messagesCompleted: 0, tmpFilesRemoved: 1))
        #expect(fixture.names(mailbox + "/tmp") == [])
        #expect(fixture.names(mailbox + "/new") == [committed[0].filename])
        #expect(try store.messages(mailboxPath: mailbox).count == 1)
    }

    @Test func removesSpoolJunk() throws {
        let message = try store.beginMessage()
        try message.write(Array("half a mess".utf8))
        #expect(FileManager.default.createFile(atPath: fixture.path("spool/junk"), contents: Data("x".utf8)))
        let report = try withExtendedLifetime(message) { try store.recover() }
        #expect(report.spoolFilesRemoved == 2)
        #expect(fixture.names("spool") == [])
        #expect(try store.recover() == RecoveryReport())
    }

    @Test func rebuildsTheIndexFromTheMaildir() throws {
        let stored = try fixture.deliver(sampleMessage(subject: "one"), to: ["support@acme.test"])
            + fixture.deliver(sampleMessage(subject: "two"), to: ["support@acme.test"])
        let state = try store.mailboxState(mailboxPath: mailbox)
        // A reader moved the first message to cur/ with flags.
        try FileManager.default.moveItem(atPath: fixture.path(mailbox + "/new/" + stored[0].filename),
                                         toPath: fixture.path(mailbox + "/cur/" + stored[0].filename + ":2,S"))
        try fixture.sql { db in
            try db.execute(sql: "DELETE FROM message")
            try db.execute(sql: "UPDATE mailbox SET uid_next = 1, uid_validity = 7")
        }
        #expect(try store.rebuildIndex() == 2)
        let rebuilt = try store.messages(mailboxPath: mailbox)
        #expect(rebuilt.map(\.uid) == [1, 2])
        #expect(rebuilt.map(\.filename) == stored.map(\.filename))
        #expect(rebuilt.map(\.subject) == ["one", "two"])
        #expect(rebuilt.map(\.flags) == ["S", ""])
        #expect(rebuilt.map(\.size) == stored.map(\.size))
        #expect(try store.mailboxState(mailboxPath: mailbox) == state)
        #expect(try store.rebuildIndex() == 0)
    }

    @Test func aLostMailboxRowIsRecreatedFromTheMaildir() throws {
        try fixture.deliver(sampleMessage(), to: ["support@acme.test"])
        let state = try store.mailboxState(mailboxPath: mailbox)
        try fixture.sql { db in
            try db.execute(sql: "DELETE FROM address")
            try db.execute(sql: "DELETE FROM message")
            try db.execute(sql: "DELETE FROM session_participant")
            try db.execute(sql: "DELETE FROM session")
            try db.execute(sql: "DELETE FROM mailbox WHERE path = ?", arguments: [mailbox])
        }
        try store.addAddress(EmailAddress("support@acme.test"))
        #expect(try store.mailboxState(mailboxPath: mailbox) == state)
        #expect(try store.rebuildIndex(mailboxPath: mailbox) == 1)
        #expect(try fixture.deliver(sampleMessage(), to: ["support@acme.test"]).map(\.uid) == [2])
    }

    @Test func aRebuildKeepsThePolicyLabels() throws {
        let held = try store.quarantineTarget(for: fixture.target("support@acme.test"))
        let ordinary = try fixture.deliver(sampleMessage(subject: "ordinary"), to: ["support@acme.test"])
        let auto = try fixture.deliver(sampleMessage(subject: "auto"), to: ["support@acme.test"], policy: "auto-reply")
        let own = try fixture.deliver(sampleMessage(subject: "own"), to: ["support@acme.test"], policy: "own-reply")
        let message = try store.beginMessage()
        let bytes = sampleMessage(subject: "held")
        try message.write(bytes)
        let quarantined = try store.deliver(message, to: [held], envelope: DeliveryEnvelope(
            mailFrom: "eve@evil.example", rcptTo: [held: "support@acme.test"], header: MessageHeader.parse(bytes),
            policy: [held: "quarantined:not-a-recipient"]))
        #expect(auto[0].filename.hasSuffix(",P=auto-reply"))
        #expect(quarantined[0].filename.hasSuffix(",P=quarantined%3Anot-a-recipient"))
        #expect(fixture.names(held.mailboxPath + "/new") == [quarantined[0].filename])
        // A reader moved the auto-reply to cur/ with flags.
        try FileManager.default.moveItem(atPath: fixture.path(mailbox + "/new/" + auto[0].filename),
                                         toPath: fixture.path(mailbox + "/cur/" + auto[0].filename + ":2,S"))
        try fixture.sql { try $0.execute(sql: "DELETE FROM message") }
        #expect(try store.rebuildIndex() == 4)
        let rebuilt = try store.messages(mailboxPath: mailbox)
        #expect(rebuilt.map(\.subject) == ["ordinary", "auto", "own"])
        #expect(rebuilt.map(\.policy) == [nil, "auto-reply", "own-reply"])
        #expect(rebuilt.map(\.filename) == (ordinary + auto + own).map(\.filename))
        let quarantine = try store.quarantined()
        #expect(quarantine.map(\.reason) == ["not-a-recipient"])
    }

    @Test func fileNamesCarryAnyLabelPercentEncoded() {
        let name = MaildirFileName(uniqueName: "1.M2P3.host", size: 10, uid: 4, policy: "quarantined:a,b/c é")
        #expect(name.baseName == "1.M2P3.host,S=10,U=4,P=quarantined%3Aa%2Cb%2Fc%20%C3%A9")
        #expect(MaildirFileName(parsing: name.baseName + ":2,S") == name)
        #expect(MaildirFileName(parsing: "1.M2P3.host,S=10,U=4")?.policy == nil)
        #expect(MaildirFileName(parsing: "1.M2P3.host,S=10,U=4,P=bad%2")?.policy == nil)
    }
}
