import Foundation
import PostgateMessage
import Testing
@testable import PostgateSessions

@Suite struct SessionResolverTests {
    let ids = SessionMessageID(key: Array(repeating: 7, count: 32))
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    var open: Date { now.addingTimeInterval(3600) }

    /// Sessions with ids 1 (ana's, open, two stored messages, one with a Thread-Index
    /// root), 2 (bob's, open) and 3 (ana's, expired).
    var lookup: InMemorySessionLookup {
        InMemorySessionLookup(
            sessions: [
                SessionCandidate(id: 1, customer: "ana@example.test", participants: ["colleague@example.test"], expiresAt: open),
                SessionCandidate(id: 2, customer: "bob@example.test", expiresAt: open),
                SessionCandidate(id: 3, customer: "ana@example.test", expiresAt: nil),
            ],
            messages: [
                .init(id: "first@example.test", sessionID: 1, threadIndexRoot: "aa"),
                .init(id: "second@acme.test", sessionID: 1),
                .init(id: "newsletter@acme.test", sessionID: 2),
                .init(id: "old@example.test", sessionID: 3),
            ],
            latestByCustomer: ["ana@example.test": 1, "bob@example.test": 2])
    }

    func resolve(_ facts: SessionHeaderFacts, mode: SessionMode = .thread, lookup: InMemorySessionLookup? = nil) throws -> SessionDecision {
        try SessionResolver(mode: mode, messageIDs: ids).resolve(facts, now: now, lookup: lookup ?? self.lookup)
    }

    @Test func signedMessageIDInInReplyToJoins() throws {
        let facts = SessionHeaderFacts(inReplyTo: [String(ids.messageID(sessionID: 1, domain: "acme.test").dropFirst().dropLast())],
                                       from: "ana@example.test")
        #expect(try resolve(facts) == .join(sessionID: 1, reason: .signedMessageID))
    }

    @Test func forgedTokenIsRefused() throws {
        let forged = "pg1-1-0badf00d-00112233445566778899@acme.test"
        let other = SessionMessageID(key: Array(repeating: 8, count: 32)).messageID(sessionID: 1, domain: "acme.test")
        for id in [forged, String(other.dropFirst().dropLast())] {
            let facts = SessionHeaderFacts(inReplyTo: [id], from: "ana@example.test")
            #expect(try resolve(facts) == .start(previousSessionID: nil, reason: .newThread))
        }
    }

    @Test func bodyMarkerJoinsWhenMessageIDsWereRewritten() throws {
        let body = "Thanks!\n\n> earlier text \(ids.bodyMarker(sessionID: 1))\n"
        let facts = SessionHeaderFacts(inReplyTo: ["rewritten@relay.test"], from: "ana@example.test", bodyText: body)
        #expect(try resolve(facts) == .join(sessionID: 1, reason: .bodyMarker))
    }

    @Test func referencesAgainstStoredMessageIDs() throws {
        // Trimmed References: only the first message is left.
        let facts = SessionHeaderFacts(references: ["first@example.test"], from: "ana@example.test")
        #expect(try resolve(facts) == .join(sessionID: 1, reason: .references))
    }

    @Test func threadIndexWhenReferencesAreMissing() throws {
        let facts = SessionHeaderFacts(threadIndexRoot: "aa", from: "ana@example.test")
        #expect(try resolve(facts) == .join(sessionID: 1, reason: .threadIndex))
    }

    @Test func newsletterReplyFromAnotherCustomerDoesNotMerge() throws {
        let facts = SessionHeaderFacts(inReplyTo: ["newsletter@acme.test"], from: "carol@example.test")
        #expect(try resolve(facts) == .start(previousSessionID: nil, reason: .newThread))
        let signed = SessionHeaderFacts(inReplyTo: [String(ids.messageID(sessionID: 2, domain: "acme.test").dropFirst().dropLast())],
                                        from: "carol@example.test")
        #expect(try resolve(signed) == .start(previousSessionID: nil, reason: .newThread))
    }

    @Test func participantAddedMidThreadMayReply() throws {
        let facts = SessionHeaderFacts(inReplyTo: ["second@acme.test"], from: "colleague@example.test")
        #expect(try resolve(facts) == .join(sessionID: 1, reason: .references))
    }

    @Test func subjectAloneNeverMatches() throws {
        let facts = SessionHeaderFacts(threadTopic: "Order 4512", from: "ana@example.test", subject: "Re: Order 4512")
        #expect(try resolve(facts, mode: .thread) == .start(previousSessionID: nil, reason: .newThread))
    }

    @Test func channelModeContinuesTheCustomersOpenSession() throws {
        let facts = SessionHeaderFacts(messageID: "new@example.test", from: "ana@example.test", subject: "Another question")
        #expect(try resolve(facts, mode: .channel) == .join(sessionID: 1, reason: .channel))
        #expect(try resolve(facts, mode: .thread) == .start(previousSessionID: nil, reason: .newThread))
    }

    @Test func expiredSessionStartsALinkedOne() throws {
        let reply = SessionHeaderFacts(inReplyTo: ["old@example.test"], from: "ana@example.test")
        #expect(try resolve(reply) == .start(previousSessionID: 3, reason: .expired))
        var stale = lookup
        stale.latestByCustomer["ana@example.test"] = 3
        let fresh = SessionHeaderFacts(from: "ana@example.test")
        #expect(try resolve(fresh, mode: .channel, lookup: stale) == .start(previousSessionID: 3, reason: .expired))
    }

    @Test func noSenderStartsANewSession() throws {
        #expect(try resolve(SessionHeaderFacts(inReplyTo: ["first@example.test"])) == .start(previousSessionID: nil, reason: .newThread))
    }
}

/// Messages that are not customer activity (`SessionActivity`): filed, never started or extended.
@Suite struct SessionActivityTests {
    let base = SessionResolverTests()

    func resolve(_ facts: SessionHeaderFacts, _ activity: SessionActivity, mode: SessionMode = .thread) throws -> SessionDecision? {
        try SessionResolver(mode: mode, messageIDs: base.ids).resolve(facts, activity: activity, now: base.now, lookup: base.lookup)
    }

    @Test func customerActivityResolvesAsBefore() throws {
        let facts = SessionHeaderFacts(references: ["first@example.test"], from: "ana@example.test")
        #expect(try resolve(facts, .customer) == .join(sessionID: 1, reason: .references))
        #expect(try resolve(SessionHeaderFacts(from: "new@example.test"), .customer) == .start(previousSessionID: nil, reason: .newThread))
    }

    @Test func ownReplyIsAttachedToTheSessionItNamesOpenOrNot() throws {
        let facts = SessionHeaderFacts(from: "support@acme.test", recipients: ["ana@example.test"])
        #expect(try resolve(facts, .ownReply(sessionID: 1)) == .attach(sessionID: 1, reason: .ownReply))
        #expect(try resolve(facts, .ownReply(sessionID: 3)) == .attach(sessionID: 3, reason: .ownReply))
        #expect(try resolve(facts, .ownReply(sessionID: 99)) == nil, "a session of another address: none")
        #expect(SessionDecision.attach(sessionID: 1, reason: .ownReply).reason == .ownReply)
    }

    @Test func flaggedMailJoinsOnlyAnOpenSessionItMatches() throws {
        let reply = SessionHeaderFacts(references: ["first@example.test"], from: "ana@example.test")
        #expect(try resolve(reply, .flagged) == .attach(sessionID: 1, reason: .references))
        #expect(try resolve(SessionHeaderFacts(from: "bob@example.test"), .flagged, mode: .channel)
                == .attach(sessionID: 2, reason: .channel))
        #expect(try resolve(SessionHeaderFacts(from: "new@example.test"), .flagged, mode: .channel) == nil)
        let expired = SessionHeaderFacts(references: ["old@example.test"], from: "ana@example.test")
        #expect(try resolve(expired, .flagged) == nil, "an expired session is neither continued nor followed")
    }
}
