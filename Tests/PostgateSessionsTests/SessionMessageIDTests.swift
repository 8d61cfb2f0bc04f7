import Foundation
import PostgateMessage
import Testing
@testable import PostgateSessions

@Suite struct SessionMessageIDTests {
    let ids = SessionMessageID(key: Array("0123456789abcdef0123456789abcdef".utf8))

    @Test func roundTripAndUniqueness() {
        let first = ids.messageID(sessionID: 123_456, domain: "acme.test")
        let second = ids.messageID(sessionID: 123_456, domain: "acme.test")
        #expect(first != second)
        #expect(first.hasPrefix("<pg1-2n9c-") && first.hasSuffix("@acme.test>"))
        #expect(ids.sessionID(fromMessageID: first) == 123_456)
        #expect(ids.sessionID(fromMessageID: first.uppercased()) == 123_456)  // relays that fold case
        #expect(ids.sessionID(fromMessageID: String(first.dropFirst().dropLast())) == 123_456)
    }

    @Test func tamperingIsDetected() {
        let id = ids.messageID(sessionID: 5, domain: "acme.test")
        let otherSession = id.replacingOccurrences(of: "pg1-5-", with: "pg1-6-")
        #expect(ids.sessionID(fromMessageID: otherSession) == nil)
        #expect(ids.sessionID(fromMessageID: "<pg1-5-00000000-00000000000000000000@acme.test>") == nil)
        #expect(ids.sessionID(fromMessageID: "<CAF3kQ1x@mail.gmail.com>") == nil)
        #expect(ids.sessionID(fromMessageID: "<pg1-zzzzzzzzzzzzzzzzzzzz-1-2@x>") == nil)
    }

    @Test func forwardingCheckTokensVerifyOnlyUnchanged() {
        let token = ids.forwardingCheckToken()
        #expect(token.hasPrefix("pgf-") && token != ids.forwardingCheckToken())
        #expect(ids.isForwardingCheck(token: token))
        #expect(ids.isForwardingCheck(token: token.uppercased()))
        var altered = Array(token)
        altered[5] = altered[5] == "0" ? "1" : "0"
        #expect(!ids.isForwardingCheck(token: String(altered)))
        #expect(!ids.isForwardingCheck(token: "pgf-0123456789abcdef-00112233445566778899"))
        let otherKey = SessionMessageID(key: Array("fedcba9876543210fedcba9876543210".utf8))
        #expect(!otherKey.isForwardingCheck(token: token))
        // A session token is not a check token, nor the other way round.
        #expect(!ids.isForwardingCheck(token: ids.token(sessionID: 5)))
        #expect(ids.sessionID(fromMessageID: "<\(token)@acme.test>") == nil)
    }

    @Test func bodyMarkersInText() {
        let marker = ids.bodyMarker(sessionID: 42)
        let text = "Reply\n> quoted \(marker) more [ref:pg1-1-00000000-00000000000000000000] [ref:"
        #expect(ids.sessionIDs(inBody: text) == [42])
    }

    @Test func bodyMarkersIgnoreCaseSkipForgeriesAndKeepOrder() {
        let seven = ids.bodyMarker(sessionID: 7), nine = ids.bodyMarker(sessionID: 9)
        let text = "Grüße ✓ \(nine.uppercased())\n[ref:pg1-2-00000000-00000000000000000000]\n> \(seven) \(nine) [ref"
        #expect(ids.sessionIDs(inBody: text) == [9, 7])
        #expect(ids.sessionIDs(inBody: "") == [] && ids.sessionIDs(inBody: "[ref:") == [])
    }

    @Test func knownVector() {
        // HMAC-SHA256(key "0123…ef" ×2, "pg1-1-00000000"), first 10 bytes; computed independently
        // with Python's hmac module.
        #expect(ids.sessionID(fromMessageID: "<pg1-1-00000000-\(Self.vector)@x>") == 1)
    }

    static let vector = "c1cdd3b7f2a8a94d8e6e"
}

@Suite struct SessionHeaderFactsTests {
    @Test func realClientHeaders() {
        let header = MessageHeader.parse(Array("""
            From: "Müller, Jürgen" <Juergen.Mueller@Contoso.TEST>
            To: Support <support@acme.test>, "Lee, A" <lee@example.test>
            Cc: undisclosed-recipients:;, boss@example.test (the boss)
            Subject: =?utf-8?Q?AW=3A_Rechnung?=
            Message-ID: <AM0PR07MB1234@eurprd07.prod.outlook.com>
            In-Reply-To: <pg1-1-abc@acme.test>
            References: <a@x.test>
             <b@y.test> <pg1-1-abc@acme.test>
            Thread-Index: AdoP3yW1b9cm2nEsRk+5bHEgQzkTNwAAbbCC
            Thread-Topic: Rechnung

            body
            """.utf8))
        let facts = SessionHeaderFacts(header: header)
        #expect(facts.from == "juergen.mueller@contoso.test")
        #expect(facts.recipients == ["support@acme.test", "lee@example.test", "boss@example.test"])
        #expect(facts.messageID == "AM0PR07MB1234@eurprd07.prod.outlook.com")
        #expect(facts.inReplyTo == ["pg1-1-abc@acme.test"])
        #expect(facts.references == ["a@x.test", "b@y.test", "pg1-1-abc@acme.test"])
        #expect(facts.referencedIDs == ["pg1-1-abc@acme.test", "b@y.test", "a@x.test"])
        #expect(facts.subject == "AW: Rechnung")
        #expect(facts.threadIndexRoot?.count == 44)
        let sameConversation = SessionHeaderFacts.threadIndexRoot("AdoP3yW1b9cm2nEsRk+5bHEgQzkTNw==")
        #expect(facts.threadIndexRoot == sameConversation)
        #expect(SessionHeaderFacts.threadIndexRoot("short") == nil)
    }

    @Test func envelopeSenderStandsInForMissingFrom() {
        let facts = SessionHeaderFacts(header: MessageHeader.parse(Array("Subject: x\n\n".utf8)), envelopeSender: "A@B.test")
        #expect(facts.from == "a@b.test")
        #expect(facts.messageID == nil)
    }

    @Test func threadTree() {
        let nodes = SessionThreadTree.arrange([
            (id: "a", referenced: []),
            (id: "b", referenced: ["a"]),
            (id: "c", referenced: ["zzz"]),
            (id: "d", referenced: ["b", "a"]),
            (id: "e", referenced: ["a"]),
        ])
        #expect(nodes.map(\.index) == [0, 1, 3, 4, 2])
        #expect(nodes.map(\.depth) == [0, 1, 2, 1, 0])
    }
}
