import PostgateMessage
import Testing
@testable import PostgateSMTP

@Suite struct SMTPCommandParserTests {
    private func parse(_ line: String) -> Result<SMTPCommand, SMTPReply> {
        SMTPCommandParser.parse(Array(line.utf8))
    }

    private func code(_ line: String) -> String? {
        if case .failure(let reply) = parse(line) { return "\(reply.code) \(reply.enhancedCode ?? "")" }
        return nil
    }

    @Test func verbsAreCaseInsensitive() throws {
        #expect(try parse("ehlo client.example").get() == .ehlo("client.example"))
        #expect(try parse("Helo x").get() == .helo("x"))
        #expect(try parse("noop anything").get() == .noop)
        #expect(try parse("StartTLS").get() == .startTLS)
    }

    @Test func mailFromWithParameters() throws {
        let command = try parse("MAIL FROM:<Alice@Example.COM> SIZE=1000 BODY=8BITMIME").get()
        guard case .mail(.mailbox(let address), let parameters) = command else {
            Issue.record("not a MAIL: \(command)")
            return
        }
        #expect(address.canonical == "alice@example.com")
        #expect(parameters.declaredSize == 1000)
        #expect(parameters.body == .eightBitMIME)
    }

    @Test func nullReversePathAndSpaceAfterColon() throws {
        #expect(try parse("MAIL FROM:<>").get() == .mail(.null, MailParameters()))
        #expect(try parse("MAIL FROM: <>").get() == .mail(.null, MailParameters()))
    }

    @Test func sourceRouteIsIgnored() throws {
        // RFC 5321 section 4.1.1.3 and appendix C: accept the syntax, ignore the route.
        let command = try parse("RCPT TO:<@relay.one,@relay.two:user@hosted.test>").get()
        #expect(command == .rcpt(try EmailAddress("user@hosted.test"), RecipientParameters()))
    }

    @Test func quotedLocalPartKeepsAt() throws {
        let command = try parse(#"RCPT TO:<"user@other.test"@hosted.test>"#).get()
        guard case .rcpt(let address, _) = command else { Issue.record("not RCPT"); return }
        #expect(address.localPart == "user@other.test")
        #expect(address.hasRoutingCharacters)
    }

    @Test func refusals() {
        #expect(code("RCPT TO:<user@hosted.test.>") == "501 5.1.3")      // trailing dot
        #expect(code("RCPT TO:user@hosted.test") == "501 5.1.7")          // no brackets
        #expect(code("RCPT TO:<user@[127.0.0.1]>") == "501 5.1.3")        // address literal
        #expect(code("RCPT TO:<@bad:>") == "501 5.1.3")
        #expect(code("RCPT TO:<>") == "501 5.1.3")
        #expect(code("RCPT TO:<a@b.test> NOTIFY=NEVER") == "555 5.5.4")
        #expect(code("MAIL FROM:<a@b.test> SIZE=abc") == "501 5.5.4")
        #expect(code("MAIL FROM:<a@b.test> RET=FULL") == "555 5.5.4")
        #expect(code("MAIL FROM:<a@b.test> BODY=BINARYMIME") == "555 5.5.4")
        #expect(code("MAIL FROM:<ü@b.test>") == "553 5.6.7")
        #expect(code("DATA now") == "501 5.5.4")
        #expect(code("EHLO") == "501 5.5.4")
        #expect(code("FOO") == "500 5.5.2")
    }

    @Test func utf8AddressWithSMTPUTF8() throws {
        let command = try parse("MAIL FROM:<ü@bücher.test> SMTPUTF8").get()
        guard case .mail(.mailbox(let address), let parameters) = command else { Issue.record("not MAIL"); return }
        #expect(parameters.smtpUTF8)
        #expect(address.domain.ascii == "xn--bcher-kva.test")
    }
}
