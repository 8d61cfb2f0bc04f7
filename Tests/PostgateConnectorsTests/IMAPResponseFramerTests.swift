import Foundation
import NIOCore
import Testing
@testable import PostgateConnectors

/// Framing and parsing of IMAP responses: lines, literals anywhere, streamed literals, bounds.
@Suite struct IMAPResponseFramerTests {
    /// Feeds `pieces` one read at a time and collects every event.
    private func events(_ framer: inout IMAPResponseFramer, _ pieces: [String]) throws -> [IMAPClientEvent] {
        try events(&framer, bytes: pieces.map { Array($0.utf8) })
    }

    private func events(_ framer: inout IMAPResponseFramer, bytes pieces: [[UInt8]]) throws -> [IMAPClientEvent] {
        var buffer = ByteBuffer()
        var result: [IMAPClientEvent] = []
        for piece in pieces {
            buffer.writeBytes(piece)
            while let event = try framer.next(&buffer) { result.append(event) }
        }
        return result
    }

    /// Every single-byte split of `text`.
    private func bytewise(_ text: String) -> [String] { text.map { String($0) } }

    @Test func greetingTaggedAndContinuation() throws {
        var framer = IMAPResponseFramer()
        let result = try events(&framer, [
            "* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN] Dovecot ready.\r\n",
            "A1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\nA2 BAD Error in IMAP command\r\n",
            "+ idling\r\n+\r\n", "A3 OK\r\n",
        ])
        #expect(result == [
            .response(.untagged(.status(IMAPStatusResponse(.ok, code: IMAPResponseCode(
                name: "CAPABILITY", arguments: [.atom("IMAP4rev1"), .atom("SASL-IR"), .atom("STARTTLS"), .atom("AUTH=PLAIN")],
                raw: "CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN"
            ), text: "Dovecot ready.")))),
            .response(.tagged("A1", IMAPStatusResponse(.no, code: IMAPResponseCode(name: "AUTHENTICATIONFAILED"), text: "Authentication failed."))),
            .response(.tagged("A2", IMAPStatusResponse(.bad, text: "Error in IMAP command"))),
            .response(.continuation("idling")),
            .response(.continuation("")),
            .response(.tagged("A3", IMAPStatusResponse(.ok, text: ""))),
        ])
    }

    @Test func literalSplitAcrossEveryByte() throws {
        var framer = IMAPResponseFramer()
        let text = "* 12 FETCH (UID 7 RFC822.SIZE 12 FLAGS (\\Seen $Forwarded) BODY[] {12}\r\nHi\r\n{3}\r\nBye)\r\nA4 OK done\r\n"
        let result = try events(&framer, bytewise(text))
        #expect(result == [
            .response(.untagged(.fetch(12, IMAPFetchAttributes(uid: 7, size: 12, flags: ["\\Seen", "$Forwarded"], body: .string(Array("Hi\r\n{3}\r\nBye".utf8)))))),
            .response(.tagged("A4", IMAPStatusResponse(.ok, text: "done"))),
        ])
    }

    @Test func literalsAnywhereInAResponse() throws {
        var framer = IMAPResponseFramer()
        let result = try events(&framer, [
            "* LIST (\\HasNoChildren) \".\" {8}\r\nMy \"Box\"\r\n",
            "* LIST (\\Noselect \\HasChildren) NIL \"a \\\"q\\\" \\\\ b\"\r\n",
            "* LIST (\\HasNoChildren \\Trash) \".\" Trash (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
            "* LIST () \"/\" {4+}\r\nNIL!\r\n",
            "* 1 FETCH (BODY[HEADER.FIELDS (FROM TO)] {5}\r\nFrom:",
            " UID 3 BODY[] ~{2}\r\nab)\r\n",
        ])
        #expect(result == [
            .response(.untagged(.list(IMAPMailbox(name: "My \"Box\"", delimiter: ".", attributes: ["\\HasNoChildren"])))),
            .response(.untagged(.list(IMAPMailbox(name: "a \"q\" \\ b", delimiter: nil, attributes: ["\\Noselect", "\\HasChildren"])))),
            .response(.untagged(.list(IMAPMailbox(name: "Trash", delimiter: ".", attributes: ["\\HasNoChildren", "\\Trash"])))),
            .response(.untagged(.list(IMAPMailbox(name: "NIL!", delimiter: "/", attributes: [])))),
            .response(.untagged(.fetch(1, IMAPFetchAttributes(uid: 3, body: .string(Array("ab".utf8)))))),
        ])
    }

    @Test func selectResponsesAndSearch() throws {
        var framer = IMAPResponseFramer()
        let result = try events(&framer, [
            "* FLAGS (\\Answered \\Seen)\r\n* 172 EXISTS\r\n* 1 RECENT\r\n",
            "* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
            "* SEARCH 2 84 882 (MODSEQ 917162500)\r\n* SEARCH\r\n* 44 EXPUNGE\r\n* ENABLED CONDSTORE\r\n",
        ])
        #expect(result == [
            .response(.untagged(.flags(["\\Answered", "\\Seen"]))),
            .response(.untagged(.exists(172))),
            .response(.untagged(.recent(1))),
            .response(.untagged(.status(IMAPStatusResponse(.ok, code: IMAPResponseCode(
                name: "PERMANENTFLAGS", arguments: [.list([.atom("\\Seen"), .atom("\\*")])], raw: "PERMANENTFLAGS (\\Seen \\*)"
            ), text: "Limited")))),
            .response(.untagged(.status(IMAPStatusResponse(.ok, code: IMAPResponseCode(
                name: "UIDVALIDITY", arguments: [.atom("3857529045")], raw: "UIDVALIDITY 3857529045"
            ), text: "UIDs valid")))),
            .response(.untagged(.search([2, 84, 882]))),
            .response(.untagged(.search([]))),
            .response(.untagged(.expunge(44))),
            .response(.untagged(.other("ENABLED", [.atom("CONDSTORE")]))),
        ])
    }

    @Test func largeLiteralIsStreamedInBoundedChunks() throws {
        var framer = IMAPResponseFramer(maxResponseLength: 200, maxInlineLiteral: 16, maxChunkSize: 8)
        let body = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var pieces: [[UInt8]] = [Array("* 3 FETCH (UID 9 BODY[] {1000}\r\n".utf8)]
        var rest = body[...]
        while !rest.isEmpty {
            pieces.append(Array(rest.prefix(13)))
            rest = rest.dropFirst(13)
        }
        pieces.append(Array(")\r\nA5 OK Fetch completed.\r\n".utf8))
        let result = try events(&framer, bytes: pieces)
        #expect(result.first == .literalStart(head: "* 3 FETCH (UID 9 BODY[] {1000}", size: 1000))
        var streamed: [UInt8] = []
        for event in result {
            guard case .literalChunk(let chunk) = event else { continue }
            #expect(chunk.readableBytes <= 8)
            streamed += chunk.readableBytesView
        }
        #expect(streamed == body, "the literal arrives whole, though the response limit is 200 octets")
        #expect(result.suffix(2) == [
            .streamedResponse(.untagged(.fetch(3, IMAPFetchAttributes(uid: 9, body: .streamed(1000))))),
            .response(.tagged("A5", IMAPStatusResponse(.ok, text: "Fetch completed."))),
        ])
    }

    @Test func endlessLineIsAProtocolError() throws {
        var framer = IMAPResponseFramer(maxResponseLength: 1024)
        var buffer = ByteBuffer()
        var error: IMAPClientError?
        do {
            for _ in 0..<100 {
                buffer.writeString("* SEARCH " + String(repeating: "1 ", count: 50))
                while try framer.next(&buffer) != nil {}
            }
        } catch let thrown {
            error = thrown
        }
        guard case .protocolError(let text) = error else {
            Issue.record("an endless line: \(String(describing: error))")
            return
        }
        #expect(text.contains("longer than 1024 octets"))
        #expect(buffer.readableBytes <= 1024 + 109, "the client stopped buffering at the limit")
    }

    @Test func heldLiteralsCountTowardsTheLimit() {
        // Literals at most the inline limit are held; many of them in one response are bounded too.
        var framer = IMAPResponseFramer(maxResponseLength: 100, maxInlineLiteral: 60)
        let error = #expect(throws: IMAPClientError.self) {
            _ = try events(&framer, ["* LIST () \".\" {60}\r\n" + String(repeating: "x", count: 60) + " {60}\r\n"])
        }
        guard case .protocolError(let text) = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(text.contains("longer than 100 octets"))
    }

    @Test(arguments: [
        "* 1 FETCH (UID\r\n",
        "A1 MAYBE later\r\n",
        "* LIST (\\Noselect) \"..\" x\r\n",
        "* 1 FETCH (UID 0)\r\n",
        "* 1 FETCH (UID 5 BODY[] \"unterminated)\r\n",
        "* OK [UIDVALIDITY 5 text\r\n",
        "\r\n",
    ])
    func malformedResponsesAreProtocolErrors(_ text: String) {
        var framer = IMAPResponseFramer()
        let error = #expect(throws: IMAPClientError.self) { _ = try events(&framer, [text]) }
        guard case .protocolError(let message) = error else {
            Issue.record("\(text.debugDescription): \(String(describing: error))")
            return
        }
        #expect(message.hasPrefix("malformed response"))
    }

    @Test func bytesAfterTheOKToSTARTTLSAreDropped() throws {
        var framer = IMAPResponseFramer()
        framer.expectStartTLS(tag: "A2")
        let before = try events(&framer, ["A2 OK Begin TLS negotiation now.\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n", "A3 OK injected\r\n"])
        #expect(before == [.response(.tagged("A2", IMAPStatusResponse(.ok, text: "Begin TLS negotiation now.")))])
        #expect(framer.discardingUntilTLS)
        framer.tlsEstablished()
        #expect(try events(&framer, ["A3 OK real\r\n"]) == [.response(.tagged("A3", IMAPStatusResponse(.ok, text: "real")))])
    }

    @Test func refusedSTARTTLSKeepsReading() throws {
        var framer = IMAPResponseFramer()
        framer.expectStartTLS(tag: "A2")
        let result = try events(&framer, ["A2 NO not now\r\n* OK still here\r\n"])
        #expect(result.count == 2)
        #expect(!framer.discardingUntilTLS)
    }

    @Test func modifiedUTF7MailboxNames() {
        #expect(IMAPModifiedUTF7.decode("&AMQ-rger") == "Ärger")
        #expect(IMAPModifiedUTF7.decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/台北/日本語")
        #expect(IMAPModifiedUTF7.decode("Tom &- Jerry") == "Tom & Jerry")
        #expect(IMAPModifiedUTF7.decode("&Jjo-!") == "☺!")
        #expect(IMAPModifiedUTF7.decode("bad&AGE-") == nil, "printable ASCII must not be encoded")
        #expect(IMAPModifiedUTF7.decode("open&AMQ") == nil)
        #expect(IMAPMailbox(name: "&AMQ-rger", delimiter: ".", attributes: []).displayName == "Ärger")
    }

    @Test func internalDates() {
        #expect(IMAPDate.internalDate("17-Jul-1996 02:44:25 -0700") == Date(timeIntervalSince1970: 837_596_665))
        #expect(IMAPDate.internalDate(" 7-Jul-1996 09:44:25 +0000") == Date(timeIntervalSince1970: 836_732_665))
        #expect(IMAPDate.internalDate("17-Jul-1996") == nil)
        #expect(IMAPDate.searchDay(Date(timeIntervalSince1970: 836_732_665)) == "7-Jul-1996")
    }
}
