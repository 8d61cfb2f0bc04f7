import Foundation
import GRDB
import PostgateMessage
import PostgateSessions
import Testing
@testable import PostgateStore
@testable import PostgateMaildir

/// Sessions assigned at delivery, duplicates, and the session queries, on a real data
/// directory and SQLite file.
@Suite struct SessionDeliveryTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    /// Just after the fixture's delivery time (`StoreFixture.deliver` uses 1_700_000_000).
    let now = Date(timeIntervalSince1970: 1_700_000_100)

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support", "sales")
    }

    private func mail(from: String = "ana@example.org", to: String = "support@acme.test", cc: String? = nil,
                      id: String?, inReplyTo: String? = nil, subject: String = "Order", body: String = "Hello") -> [UInt8] {
        var text = "From: Ana <\(from)>\r\nTo: \(to)\r\n"
        if let cc { text += "Cc: \(cc)\r\n" }
        text += "Subject: \(subject)\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        if let id { text += "Message-ID: \(id)\r\n" }
        if let inReplyTo { text += "In-Reply-To: \(inReplyTo)\r\nReferences: \(inReplyTo)\r\n" }
        return Array((text + "\r\n" + body + "\r\n").utf8)
    }

    private func setMode(_ mode: SessionMode) throws {
        try fixture.sql { try $0.execute(sql: "UPDATE address SET session_mode = ?", arguments: [mode.rawValue]) }
    }

    @Test func channelModeOneSessionPerCustomerAndAddress() throws {
        let first = try fixture.deliver(mail(id: "<1@example.org>"), to: ["support@acme.test"])
        let second = try fixture.deliver(mail(id: "<2@example.org>", subject: "Other"), to: ["support@acme.test"])
        let sales = try fixture.deliver(mail(to: "sales@acme.test", id: "<3@example.org>"), to: ["sales@acme.test"])
        let bob = try fixture.deliver(mail(from: "bob@example.org", id: "<4@example.org>"), to: ["support@acme.test"])
        #expect(first[0].sessionID != nil)
        #expect(second[0].sessionID == first[0].sessionID)
        #expect(second[0].sessionReason == "channel")
        #expect(sales[0].sessionID != first[0].sessionID)
        #expect(bob[0].sessionID != first[0].sessionID)
        let sessions = try store.sessions(address: EmailAddress("support@acme.test"), now: now)
        #expect(sessions.count == 2)
        #expect(sessions.allSatisfy { $0.isOpen })
        #expect(try store.sessions(now: now).count == 3)
    }

    @Test func threadModeFollowsReferencesAndRecordsParticipants() throws {
        try setMode(.thread)
        let first = try fixture.deliver(mail(id: "<1@example.org>"), to: ["support@acme.test"])
        let reply = try fixture.deliver(mail(cc: "Boss <boss@example.org>, support@acme.test", id: "<2@example.org>",
                                             inReplyTo: "<1@example.org>", subject: "Changed subject"),
                                        to: ["support@acme.test"])
        let newThread = try fixture.deliver(mail(id: "<3@example.org>"), to: ["support@acme.test"])
        let boss = try fixture.deliver(mail(from: "boss@example.org", id: "<4@example.org>", inReplyTo: "<2@example.org>"),
                                       to: ["support@acme.test"])
        #expect(reply[0].sessionID == first[0].sessionID)
        #expect(reply[0].sessionReason == "references")
        #expect(newThread[0].sessionID != first[0].sessionID)
        #expect(boss[0].sessionID == first[0].sessionID)
        let thread = try store.sessionThread(id: try #require(first[0].sessionID), now: now)
        #expect(thread.session.participants == ["ana@example.org", "boss@example.org"])
        #expect(thread.session.mode == "thread")
        #expect(thread.messages.map(\.depth) == [0, 1, 2])
        #expect(thread.messages.map(\.snippet) == ["Hello", "Hello", "Hello"])
    }

    @Test func signedReplyIDJoinsEvenWithoutStoredReferences() throws {
        try setMode(.thread)
        let first = try fixture.deliver(mail(id: "<1@example.org>"), to: ["support@acme.test"])
        let session = try #require(first[0].sessionID)
        let ourReply = store.sessionMessageIDs.messageID(sessionID: session, domain: "acme.test")
        let answer = try fixture.deliver(mail(id: "<2@example.org>", inReplyTo: ourReply), to: ["support@acme.test"])
        #expect(answer[0].sessionID == session)
        #expect(answer[0].sessionReason == "signed-message-id")
        // The key persists: a reopened store still recognises it.
        try fixture.reopen()
        #expect(store.sessionMessageIDs.sessionID(fromMessageID: ourReply) == session)
        let key = try #require(fixture.contents("session.key"))
        #expect(key.count == 32)
        #expect((try #require(fixture.fileStatus("session.key"))).st_mode & 0o777 == 0o600)
    }

    @Test func expiredSessionIsClosedAndLinked() throws {
        let bytes = mail(id: "<1@example.org>")
        let first = try fixture.deliver(bytes, to: ["support@acme.test"])
        // Age the session past its idle timeout.
        try fixture.sql { try $0.execute(sql: "UPDATE session SET expires_at = 0") }
        let later = try fixture.deliver(mail(id: "<2@example.org>"), to: ["support@acme.test"])
        #expect(later[0].sessionID != first[0].sessionID)
        #expect(later[0].sessionReason == "expired")
        let sessions = try store.sessions(address: EmailAddress("support@acme.test"), now: now)
        #expect(sessions.map(\.status) == ["open", "closed"])
        #expect(sessions[0].previousSessionId == first[0].sessionID)
        #expect(try store.sessions(openOnly: true, now: now).map(\.id) == [try #require(later[0].sessionID)])
    }

    @Test func duplicatesAreStoredOncePerMailbox() throws {
        let bytes = mail(id: "<dup@example.org>")
        let first = try fixture.deliver(bytes, to: ["support@acme.test"])
        #expect(first.count == 1)
        // Retried delivery: same bytes.
        #expect(try fixture.deliver(bytes, to: ["support@acme.test"]).isEmpty)
        // Forward plus Bcc copy: other header lines, same Message-ID and body, and a mailbox
        // that does not have it yet gets its copy.
        var forwarded = Array("Received: from relay.example.org\r\n".utf8) + bytes
        let both = try fixture.deliver(forwarded, to: ["support@acme.test", "sales@acme.test"])
        #expect(both.map(\.mailboxPath) == ["maildir/acme.test/sales"])
        // Same Message-ID, another sender, other content: a different message, kept.
        forwarded = mail(from: "mallory@example.org", id: "<dup@example.org>", body: "Other")
        #expect(try fixture.deliver(forwarded, to: ["support@acme.test"]).count == 1)
        #expect(fixture.names("maildir/acme.test/support/new").count == 2)
        #expect(fixture.names("maildir/acme.test/support/tmp").isEmpty)
        #expect(fixture.names("maildir/acme.test/sales/tmp").isEmpty)
        #expect(fixture.names("spool").isEmpty)
    }

    @Test func unknownSessionIsAnError() throws {
        #expect(throws: StoreError.sessionNotFound(99)) { try store.sessionThread(id: 99) }
    }

    /// The session row's activity columns, to see what a delivery extended.
    private func activity(_ id: Int64?) throws -> [Double] {
        try fixture.sql { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT last_activity_at, expires_at FROM session WHERE id = ?",
                                                    arguments: [id]))
            return [row["last_activity_at"], row["expires_at"]]
        }
    }

    private func sessionCount() throws -> Int {
        try fixture.sql { try Int.fetchOne($0, sql: "SELECT count(*) FROM session") ?? 0 }
    }

    @Test func ownReplyJoinsItsSessionWithoutExtendingIt() throws {
        let first = try fixture.deliver(mail(id: "<1@example.org>"), to: ["support@acme.test"])
        let session = try #require(first[0].sessionID)
        let before = try activity(session)
        // Our reply in that session, come back: From the channel, To the customer, Cc a colleague.
        let ourID = store.sessionMessageIDs.messageID(sessionID: session, domain: "acme.test")
        var reply = mail(from: "support@acme.test", to: "ana@example.org", cc: "boss@example.org", id: ourID,
                         inReplyTo: "<1@example.org>")
        reply = Array("Received: from mail-forward.gmail.test\r\n".utf8) + reply
        let copy = try fixture.deliver(reply, to: ["support@acme.test"], policy: "own-reply")
        #expect(copy[0].sessionID == session)
        #expect(copy[0].sessionReason == "own-reply")
        #expect(try activity(session) == before, "an own reply is not customer activity")
        #expect(try sessionCount() == 1)
        let thread = try store.sessionThread(id: session, now: now)
        #expect(thread.messages.count == 2)
        // The colleague the agent copied is a participant; the channel address is not.
        #expect(thread.session.participants == ["ana@example.org", "boss@example.org"])
    }

    @Test func ownReplyNamingAnotherAddressesSessionGetsNone() throws {
        let sales = try fixture.deliver(mail(to: "sales@acme.test", id: "<1@example.org>"), to: ["sales@acme.test"])
        let ourID = store.sessionMessageIDs.messageID(sessionID: try #require(sales[0].sessionID), domain: "acme.test")
        let copy = try fixture.deliver(mail(from: "sales@acme.test", id: ourID), to: ["support@acme.test"], policy: "own-reply")
        #expect(copy[0].sessionID == nil)
        #expect(try sessionCount() == 1, "an own reply never starts a session")
    }

    @Test func flaggedMessagesStartNoSessionAndExtendNone() throws {
        // Auto-reply and blocked mail from a customer without a session: kept, no session.
        let auto = try fixture.deliver(mail(id: "<ooo@example.org>", subject: "Out of office"), to: ["support@acme.test"],
                                       policy: "auto-reply")
        let blocked = try fixture.deliver(mail(from: "spam@spam.example", id: "<s@spam.example>"), to: ["support@acme.test"],
                                          policy: "blocked")
        #expect(auto[0].sessionID == nil && blocked[0].sessionID == nil)
        #expect(try sessionCount() == 0)
        // The customer writes: a session. Her out-of-office reply is filed in it, unextended,
        // and adds no participant.
        let first = try fixture.deliver(mail(id: "<1@example.org>"), to: ["support@acme.test"])
        let session = try #require(first[0].sessionID)
        let before = try activity(session)
        let later = try fixture.deliver(mail(cc: "someone@example.org", id: "<ooo2@example.org>", inReplyTo: "<1@example.org>"),
                                        to: ["support@acme.test"], policy: "auto-reply")
        #expect(later[0].sessionID == session)
        #expect(later[0].sessionReason == "references")
        #expect(try activity(session) == before)
        #expect(try store.sessionThread(id: session, now: now).session.participants == ["ana@example.org"])
        // Once the session has expired, flagged mail neither reopens nor continues it.
        try fixture.sql { try $0.execute(sql: "UPDATE session SET expires_at = 0") }
        let expired = try fixture.deliver(mail(id: "<ooo3@example.org>"), to: ["support@acme.test"], policy: "auto-reply")
        #expect(expired[0].sessionID == nil)
        #expect(try sessionCount() == 1)
    }
}
