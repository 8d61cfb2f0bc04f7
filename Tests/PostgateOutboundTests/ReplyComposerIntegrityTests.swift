import Foundation
import PostgateMessage
import Testing
@testable import PostgateOutbound

/// What the reply composer must not break: signed and encrypted replies (their bytes are
/// never changed; the template goes around a signed one) and format=flowed text (RFC 3676).
@Suite struct ReplyComposerIntegrityTests {
    let channel = ReplyComposer.Channel(
        address: "support@acme.test", displayName: "Acme Support",
        templateHeaderText: "Hello from Acme", templateHeaderHTML: "<p>HEADER-HTML</p>",
        templateFooterText: "-- \nAcme Support, Mon-Fri", templateFooterHTML: "<p>FOOTER-HTML</p>",
        contactCard: "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Acme Support\r\nEND:VCARD\r\n"
    )
    let thread = ReplyComposer.Thread(
        messageID: "<pg1-1-0000abcd-00112233445566778899@hosted.test>", bodyMarker: "[ref:pg1-1-0000abcd-00112233445566778899]",
        inReplyTo: "<customer-2@example.net>", references: ["<customer-2@example.net>"], isFirstReply: true
    )

    /// A PGP/MIME signed reply (RFC 3156 section 5) whose text is Latin-1 quoted-printable:
    /// re-encoding it would change its bytes.
    static let signedBody = """
        This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r
        --sig\r
        Content-Type: text/plain; charset=iso-8859-1\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        =C7a part aujourd'hui.\r
        --sig\r
        Content-Type: application/pgp-signature; name="signature.asc"\r
        \r
        -----BEGIN PGP SIGNATURE-----\r
        iHUEARYIAB0WIQQ=\r
        -----END PGP SIGNATURE-----\r
        --sig--\r

        """
    static let signed = "To: jane@example.net\r\nSubject: Re: order\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"
        + signedBody

    private func compose(_ text: String, channel: ReplyComposer.Channel? = nil, thread: ReplyComposer.Thread? = nil) throws
        -> (ReplyComposer.Reply, String, MIMEPart) {
        let reply = try ReplyComposer(channel: channel ?? self.channel)
            .compose(Array(text.utf8), envelopeRecipients: ["jane@example.net"], thread: thread ?? self.thread)
        return (reply, String(decoding: reply.bytes, as: UTF8.self), MIMEParser().parse(reply.bytes))
    }

    private func text(_ part: MIMEPart, _ reply: ReplyComposer.Reply) throws -> String {
        try part.decodedText(from: MIMEBytesSource(reply.bytes))
    }

    /// The bytes of `part`'s body in `reply`.
    private func body(_ part: MIMEPart, _ reply: ReplyComposer.Reply) -> String {
        String(decoding: reply.bytes[part.bodyRange.offset..<part.bodyRange.end], as: UTF8.self)
    }

    @Test func aSignedReplyIsWrappedWithTheTemplateAroundIt() throws {
        let (reply, raw, root) = try compose(Self.signed)
        #expect(root.contentType.mimeType == "multipart/mixed" && !root.hasDefects)
        #expect(root.parts.map(\.contentType.mimeType) == ["text/plain", "multipart/signed", "text/plain", "text/vcard"])
        #expect(try text(root.parts[0], reply) == "Hello from Acme\r\n")
        let signedPart = root.parts[1]
        #expect(signedPart.contentType.parameters["protocol"] == "application/pgp-signature" && signedPart.contentType.boundary == "sig")
        #expect(raw.contains("\r\n\r\n" + Self.signedBody), "the signed part's bytes are unchanged")
        #expect(try text(root.parts[2], reply) == "-- \r\nAcme Support, Mon-Fri\r\n\r\n\(thread.bodyMarker!)\r\n")
        #expect(root.parts[2].disposition?.isAttachment != true)
        #expect(try text(root.parts[3], reply) == channel.contactCard)
        #expect(root.header["Message-ID"] == thread.messageID)
    }

    @Test func aSignedReplyWithNothingToAddStaysAsItIs() throws {
        let bare = ReplyComposer.Channel(address: "support@acme.test")
        let (_, raw, root) = try compose(Self.signed, channel: bare)
        #expect(root.contentType.mimeType == "multipart/signed")
        #expect(raw.hasSuffix("\r\n\r\n" + Self.signedBody) && !raw.contains("[ref:"), "no wrapper for the marker alone")
        // An HTML-only template goes around it as HTML.
        var html = bare
        html.templateFooterHTML = "<p>FOOTER-HTML</p>"
        var later = thread
        later.isFirstReply = false
        let (reply, _, wrapped) = try compose(Self.signed, channel: html, thread: later)
        #expect(wrapped.parts.map(\.contentType.mimeType) == ["multipart/signed", "text/html"])
        #expect(try text(wrapped.parts[1], reply) == "<p>FOOTER-HTML</p><div style=\"display:none\">\(thread.bodyMarker!)</div>\r\n")
    }

    @Test func encryptedRepliesGetNothingAdded() throws {
        let encrypted = "To: jane@example.net\r\nSubject: Re: order\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n"
        let encryptedBody = "--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--enc\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhQIMA0==\r\n-----END PGP MESSAGE-----\r\n--enc--\r\n"
        let smime = "To: jane@example.net\r\nSubject: Re: order\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        let smimeBody = "MIAGCSqGSIb3DQEHA6CAMIACAQAxggE=\r\n"
        for (header, body, type) in [(encrypted, encryptedBody, "multipart/encrypted"), (smime, smimeBody, "application/pkcs7-mime")] {
            let (_, raw, root) = try compose(header + body)
            #expect(root.contentType.mimeType == type)
            #expect(raw.hasSuffix("\r\n\r\n" + body))
            #expect(!raw.contains("Acme Support, Mon-Fri") && !raw.contains("[ref:") && !raw.contains("text/vcard"))
        }
        // Opaque-signed S/MIME verifies wherever it is: the template goes around it.
        let opaque = smime.replacingOccurrences(of: "enveloped-data", with: "signed-data")
        let (_, raw, root) = try compose(opaque + smimeBody)
        #expect(root.parts.map(\.contentType.mimeType) == ["text/plain", "application/pkcs7-mime", "text/plain", "text/vcard"])
        #expect(raw.contains("\r\n\r\n" + smimeBody))
    }

    @Test func aSignedPartInsideTheReplyIsNeverTemplated() throws {
        let message = "To: jane@example.net\r\nSubject: Re: order\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"out\"\r\n\r\n"
            + "--out\r\nContent-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"
            + Self.signedBody + "--out\r\nContent-Type: text/plain\r\n\r\nA note beside it.\r\n--out--\r\n"
        let (reply, raw, root) = try compose(message)
        #expect(raw.contains(Self.signedBody), "the signed part's bytes are unchanged")
        let mixed = root.parts[0]
        #expect(mixed.parts.map(\.contentType.mimeType) == ["multipart/signed", "text/plain"])
        #expect(try text(mixed.parts[1], reply).hasPrefix("Hello from Acme\r\n\r\nA note beside it.\r\n\r\n-- \r\nAcme Support"))
    }

    @Test func formatFlowedKeepsItsParametersAndSoftBreaks() throws {
        var flowedChannel = channel
        // Lines a flowed reader would join or take for a quote unless written as fixed lines.
        flowedChannel.templateHeaderText = "Dear customer,  \n> not a quote\nFrom us"
        let agentText = "This is a long paragraph that the agent's mail client wrapped with a soft \r\n"
            + "line break, as format=flowed allows.\r\n\r\n> a quoted line \r\n> continued\r\n"
        let message = "To: jane@example.net\r\nSubject: Re: order\r\n"
            + "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + agentText
        var later = thread
        later.isFirstReply = false
        let (reply, _, root) = try compose(message, channel: flowedChannel, thread: later)
        #expect(root.contentType.parameters["format"] == "flowed" && root.contentType.parameters["delsp"] == "yes")
        #expect(root.contentType.charset == "utf-8")
        #expect(try text(root, reply) == "Dear customer,\r\n > not a quote\r\n From us\r\n\r\n"
            + agentText + "\r\n-- \r\nAcme Support, Mon-Fri\r\n\r\n\(thread.bodyMarker!)\r\n")
        // Without format=flowed nothing is added to the type, and the template is as written.
        let (plainReply, _, plain) = try compose(message.replacingOccurrences(of: "; format=flowed; delsp=yes", with: ""),
                                                 channel: flowedChannel, thread: later)
        #expect(plain.contentType.parameters["format"] == nil && plain.contentType.parameters["delsp"] == nil)
        #expect(try text(plain, plainReply).hasPrefix("Dear customer,  \r\n> not a quote\r\nFrom us\r\n\r\n"))
    }
}
