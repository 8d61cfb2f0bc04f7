import Foundation
import PostgateMessage
import Testing
@testable import PostgateOutbound

/// The reply composer on bytes: header rewriting, threading, template in every MIME shape,
/// the contact card, limits and header injection.
@Suite struct ReplyComposerTests {
    let channel = ReplyComposer.Channel(
        address: "support@acme.test", displayName: "Acme Support", contactCentreAddress: "cc-copy@acme.test",
        templateHeaderText: "Hello from Acme", templateHeaderHTML: "<p>HEADER-HTML</p>",
        templateFooterText: "-- \nAcme Support, Mon-Fri", templateFooterHTML: "<p>FOOTER-HTML</p>",
        contactCard: "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Acme Support\r\nEND:VCARD\r\n",
        maxTo: 2, maxCc: 1, maxBcc: 1, maxAttachmentBytes: 1000
    )
    let thread = ReplyComposer.Thread(
        messageID: "<pg1-1-0000abcd-00112233445566778899@hosted.test>", bodyMarker: "[ref:pg1-1-0000abcd-00112233445566778899]",
        inReplyTo: "<customer-2@example.net>", references: ["<customer-1@example.net>", "<customer-2@example.net>"]
    )

    private func compose(_ text: String, rcpt: [String] = ["jane@example.net"], channel: ReplyComposer.Channel? = nil,
                         thread: ReplyComposer.Thread? = nil) throws -> (ReplyComposer.Reply, String, MIMEPart) {
        let reply = try ReplyComposer(channel: channel ?? self.channel).compose(Array(text.utf8), envelopeRecipients: rcpt, thread: thread ?? self.thread)
        return (reply, String(decoding: reply.bytes, as: UTF8.self), MIMEParser().parse(reply.bytes))
    }

    private func text(_ part: MIMEPart, _ reply: ReplyComposer.Reply) throws -> String {
        try part.decodedText(from: MIMEBytesSource(reply.bytes))
    }

    @Test func plainReplyHeadersThreadingTemplateAndBcc() throws {
        let (reply, raw, root) = try compose("""
            From: Agent Smith <agent7@acme.test>\r
            Sender: agent7@acme.test\r
            To: Jane <jane@example.net>\r
            Bcc: secret@elsewhere.test\r
            Reply-To: agent7@acme.test\r
            Message-ID: <agent-local-id@laptop>\r
            Subject: Re: my order\r
            Date: Mon, 23 Nov 2026 10:00:00 +0000\r
            \r
            Your order ships today.\r

            """, rcpt: ["jane@example.net", "secret@elsewhere.test"])
        #expect(root.header["From"] == "Acme Support <support@acme.test>")
        #expect(root.header["Reply-To"] == "<cc-copy@acme.test>")
        #expect(root.header["Message-ID"] == thread.messageID)
        #expect(root.header["In-Reply-To"] == "<customer-2@example.net>")
        #expect(SessionIDs.all(root.header["References"] ?? "") == ["<customer-1@example.net>", "<customer-2@example.net>"])
        #expect(root.header["Subject"] == "Re: my order" && root.header["Date"] == "Mon, 23 Nov 2026 10:00:00 +0000")
        #expect(root.header.values("From").count == 1 && root.header["Sender"] == nil)
        #expect(!raw.lowercased().contains("bcc:") && !raw.contains("secret@elsewhere.test") && !raw.contains("agent-local-id"))
        #expect(reply.recipients == ["jane@example.net", "secret@elsewhere.test", "cc-copy@acme.test"])
        let body = try text(root, reply)
        #expect(body == "Hello from Acme\r\n\r\nYour order ships today.\r\n\r\n-- \r\nAcme Support, Mon-Fri\r\n\r\n\(thread.bodyMarker!)\r\n")
        #expect(root.transferEncoding == "7bit" && root.contentType.charset == "utf-8")
        #expect(raw.contains("\r\n\r\n") && !raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "CRLF only")
    }

    @Test func theAgentSignatureFollowsTheFooterAndAPersonalReplyKeepsTheChannelReplyTo() throws {
        var personal = channel
        personal.signatureText = "Alice\nAcme Support\n"
        personal.signatureHTML = "<p>SIGNATURE-HTML</p>"
        personal.address = "alice@acme.test"
        personal.displayName = "Alice"
        personal.replyTo = "support@acme.test"
        let (reply, _, root) = try compose("To: jane@example.net\r\nSubject: Re: x\r\n\r\nDone.\r\n", channel: personal)
        #expect(root.header["From"] == "Alice <alice@acme.test>")
        #expect(root.header["Reply-To"] == "<cc-copy@acme.test>", "the contact centre's address wins")
        #expect(try text(root, reply) == "Hello from Acme\r\n\r\nDone.\r\n\r\n-- \r\nAcme Support, Mon-Fri\r\n\r\nAlice\r\nAcme Support\r\n\r\n\(thread.bodyMarker!)\r\n")
        personal.contactCentreAddress = nil
        let (_, raw, alone) = try compose("To: jane@example.net\r\nSubject: Re: x\r\nContent-Type: text/html\r\n\r\n<html><body>Done.</body></html>\r\n",
                                          channel: personal)
        #expect(alone.header["Reply-To"] == "<support@acme.test>")
        #expect(raw.contains("<p>FOOTER-HTML</p><p>SIGNATURE-HTML</p><div style=\"display:none\">"))
    }

    @Test func displayNamesAreEncodedOrQuoted() throws {
        var unicode = channel
        unicode.displayName = "Ünïcødé Support – Équipe très longue pour tester le découpage des mots encodés"
        let (_, raw, root) = try compose("To: jane@example.net\r\n\r\nhi\r\n", channel: unicode)
        let from = root.header["From"] ?? ""
        #expect(from.hasPrefix("=?UTF-8?B?") && from.hasSuffix("<support@acme.test>"))
        #expect(EncodedWordDecoder.decode(from) == unicode.displayName! + " <support@acme.test>")
        #expect(raw.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 998 })
        #expect(HeaderPhraseEncoder.encodedWords(unicode.displayName!).allSatisfy { $0.count <= 75 })
        #expect(HeaderPhraseEncoder.phrase("Acme, Inc. \"Help\"") == "\"Acme, Inc. \\\"Help\\\"\"")
        #expect(HeaderPhraseEncoder.mailbox(name: nil, address: "a@b.test") == "a@b.test")
    }

    @Test func lineBreaksInFieldsAreRefused() {
        var bad = channel
        bad.displayName = "Acme\r\nBcc: victim@example.org"
        #expect(throws: ReplyCompositionError.lineBreakInField("the display name")) { try compose("To: a@b.test\r\n\r\nx\r\n", channel: bad) }
        var badThread = thread
        badThread.inReplyTo = "<a@b>\nX-Evil: 1"
        #expect(throws: ReplyCompositionError.lineBreakInField("In-Reply-To")) { try compose("To: a@b.test\r\n\r\nx\r\n", thread: badThread) }
        #expect(ReplyCompositionError.lineBreakInField("x").smtpReply.code == 554)
    }

    @Test func alternativeWithAttachmentKeepsStructure() throws {
        let pdf = Data((0..<300).map { UInt8($0 % 256) }).base64EncodedString(options: .lineLength76Characters)
            .replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        let html = Data("<html><body class=\"x\"><p>Ça marche</p></body></html>".utf8).base64EncodedString()
        let message = """
            To: jane@example.net\r
            Subject: files\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="outer"\r
            \r
            preamble\r
            --outer\r
            Content-Type: multipart/alternative; boundary="inner"\r
            \r
            --inner\r
            Content-Type: text/plain; charset=iso-8859-1\r
            Content-Transfer-Encoding: quoted-printable\r
            \r
            =C7a marche=\r
             tr=E8s bien\r
            --inner\r
            Content-Type: text/html; charset=utf-8\r
            Content-Transfer-Encoding: base64\r
            \r
            \(html)\r
            --inner--\r
            --outer\r
            Content-Type: application/pdf; name="a.pdf"\r
            Content-Disposition: attachment; filename="a.pdf"\r
            Content-Transfer-Encoding: base64\r
            \r
            \(pdf)\r
            --outer--\r

            """
        let (reply, raw, root) = try compose(message)
        #expect(root.contentType.mimeType == "multipart/mixed" && root.parts.count == 2 && !root.hasDefects)
        let alternative = root.parts[0]
        #expect(alternative.contentType.mimeType == "multipart/alternative" && alternative.parts.count == 2)
        let plain = try text(alternative.parts[0], reply)
        #expect(plain.hasPrefix("Hello from Acme\r\n\r\nÇa marche très bien") && plain.contains("Acme Support, Mon-Fri"))
        let htmlText = try text(alternative.parts[1], reply)
        #expect(htmlText.contains("<body class=\"x\"><p>HEADER-HTML</p><p>Ça marche</p><p>FOOTER-HTML</p><div style=\"display:none\">\(thread.bodyMarker!)</div></body>"))
        #expect(try root.parts[1].decodedBody(from: MIMEBytesSource(reply.bytes)) == (0..<300).map { UInt8($0 % 256) })
        #expect(raw.contains("preamble\r\n--outer\r\n"), "bytes outside the rewritten parts are kept")
    }

    @Test func contactCardOnFirstReplyOnly() throws {
        var first = thread
        first.isFirstReply = true
        let (reply, _, root) = try compose("To: jane@example.net\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n", thread: first)
        #expect(root.contentType.mimeType == "multipart/mixed" && root.parts.count == 2)
        #expect(try text(root.parts[0], reply).contains("hi\r\n\r\n-- \r\nAcme Support"))
        #expect(root.parts[1].contentType.mimeType == "text/vcard" && root.parts[1].disposition?.isAttachment == true)
        #expect(try text(root.parts[1], reply) == channel.contactCard)
        let (_, later, _) = try compose("To: jane@example.net\r\n\r\nhi\r\n")
        #expect(!later.contains("text/vcard"))
    }

    @Test func recipientAndAttachmentLimits() throws {
        #expect(throws: ReplyCompositionError.tooManyRecipients(field: "To", count: 3, limit: 2)) {
            try compose("To: a@x.test, b@x.test, c@x.test\r\n\r\nx\r\n", rcpt: ["a@x.test", "b@x.test", "c@x.test"])
        }
        #expect(throws: ReplyCompositionError.tooManyRecipients(field: "Bcc", count: 2, limit: 1)) {
            try compose("To: a@x.test\r\n\r\nx\r\n", rcpt: ["a@x.test", "hidden1@x.test", "hidden2@x.test"])
        }
        let big = Data(repeating: 7, count: 1500).base64EncodedString(options: .lineLength76Characters)
        let message = "To: a@x.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\(big)\r\n--b--\r\n"
        #expect(throws: ReplyCompositionError.attachmentsTooLarge(bytes: 1500, limit: 1000)) { try compose(message, rcpt: ["a@x.test"]) }
        #expect(ReplyCompositionError.attachmentsTooLarge(bytes: 1, limit: 0).smtpReply.code == 552)
    }
}

/// Message-IDs in a References value.
enum SessionIDs {
    static func all(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == " " || $0 == "\r" || $0 == "\n" || $0 == "\t" }).map(String.init)
    }
}
