import Foundation
import Testing
@testable import PostgateMessage

@Suite struct EmailAddressTests {
    @Test func plainAddress() throws {
        let address = try EmailAddress("Support@ACME.Test")
        #expect(address.localPart == "Support")
        #expect(address.domain.ascii == "acme.test")
        #expect(address.canonical == "support@acme.test")
        #expect(address.description == "Support@acme.test")
        #expect(!address.hasRoutingCharacters)
    }

    @Test func dotStringAtextAndDots() throws {
        let address = try EmailAddress("first.last+tag!#$&'*/=?^_`{|}~-@acme.test")
        #expect(address.localPart == "first.last+tag!#$&'*/=?^_`{|}~-")
        #expect(address.description == "first.last+tag!#$&'*/=?^_`{|}~-@acme.test")
    }

    @Test(arguments: [".a@acme.test", "a.@acme.test", "a..b@acme.test", "a b@acme.test", "a(b)@acme.test", "a,b@acme.test", "a\"b@acme.test"])
    func dotStringRefused(text: String) {
        #expect(throws: EmailAddressError.invalidLocalPart) { try EmailAddress(text) }
    }

    @Test func missingPieces() {
        #expect(throws: EmailAddressError.missingAt) { try EmailAddress("") }
        #expect(throws: EmailAddressError.missingAt) { try EmailAddress("user") }
        #expect(throws: EmailAddressError.missingAt) { try EmailAddress("\"user\"") }
        #expect(throws: EmailAddressError.missingAt) { try EmailAddress("\"a\"b@acme.test") }
        #expect(throws: EmailAddressError.emptyLocalPart) { try EmailAddress("@acme.test") }
        #expect(throws: EmailAddressError.emptyLocalPart) { try EmailAddress("\"\"@acme.test") }
        #expect(throws: EmailAddressError.unterminatedQuote) { try EmailAddress("\"abc@acme.test") }
        #expect(throws: EmailAddressError.domain(.empty)) { try EmailAddress("a@") }
        #expect(throws: EmailAddressError.domain(.notFullyQualified)) { try EmailAddress("a@localhost") }
        #expect(throws: EmailAddressError.domain(.invalidCharacter("b@c"))) { try EmailAddress("a@b@c.test") }
    }

    @Test func quotedLocalPartWithEscapes() throws {
        let address = try EmailAddress(#""a \"b\" \\c"@acme.test"#)
        #expect(address.localPart == #"a "b" \c"#)
        #expect(address.description == #""a \"b\" \\c"@acme.test"#)
        #expect(try EmailAddress(address.description) == address)
    }

    @Test func quotedPairOutsideRangeRefused() {
        #expect(throws: EmailAddressError.invalidLocalPart) { try EmailAddress("\"a\\\tb\"@acme.test") }
        #expect(throws: EmailAddressError.invalidLocalPart) { try EmailAddress("\"a\tb\"@acme.test") }
        #expect(throws: EmailAddressError.invalidLocalPart) { try EmailAddress("\"a\r\nb\"@acme.test") }
    }

    @Test func quotedDotStringIsUnquotedOnOutput() throws {
        let address = try EmailAddress("\"john.doe\"@acme.test")
        #expect(address.localPart == "john.doe")
        #expect(address.description == "john.doe@acme.test")
        #expect(address == (try EmailAddress("john.doe@acme.test")))
    }

    @Test func quotedAtKeepsAtAndIsRouting() throws {
        let address = try EmailAddress("\"a@b\"@c.test")
        #expect(address.localPart == "a@b")
        #expect(address.domain.ascii == "c.test")
        #expect(address.hasRoutingCharacters)
        #expect(address.description == "\"a@b\"@c.test")
        #expect(try EmailAddress(address.description) == address)
    }

    @Test(arguments: ["a%b@c.test", "b!a@c.test", "\"x@y\"@c.test"])
    func routingCharacters(text: String) throws {
        #expect(try EmailAddress(text).hasRoutingCharacters)
    }

    @Test func canonicalLowerCasesLocalPartAndUsesALabels() throws {
        let address = try EmailAddress("Ünïcode.User@BÜCHER.test")
        #expect(address.canonical == "ünïcode.user@xn--bcher-kva.test")
        #expect(address.display == "Ünïcode.User@bücher.test")
        #expect(address.description == "Ünïcode.User@xn--bcher-kva.test")
    }

    @Test(arguments: ["a b", "a..b", ".a", "a.", "a\"b", "a\\b", "(x)", "a,b", "x@y", ""])
    func descriptionQuotesWhenNeededAndRoundTrips(localPart: String) throws {
        guard !localPart.isEmpty else {
            // An empty local part cannot be written back: quoting gives "" which is refused.
            #expect(MailboxSyntax.quoteIfNeeded("") == "")
            return
        }
        let address = EmailAddress(localPart: localPart, domain: try DomainName("acme.test"))
        #expect(address.description.hasPrefix("\""))
        let parsed = try EmailAddress(address.description)
        #expect(parsed.localPart == localPart)
        #expect(parsed == address)
    }

    @Test func descriptionDoesNotQuoteDotString() throws {
        let address = EmailAddress(localPart: "a.b+c", domain: try DomainName("acme.test"))
        #expect(address.description == "a.b+c@acme.test")
    }

    @Test func localPartLengthLimit() throws {
        let local64 = String(repeating: "a", count: 64)
        #expect(try EmailAddress(local64 + "@acme.test").localPart == local64)
        #expect(throws: EmailAddressError.localPartTooLong) { try EmailAddress(local64 + "a@acme.test") }
        #expect(throws: EmailAddressError.localPartTooLong) { try EmailAddress("\"" + local64 + " \"@acme.test") }
        // Octets, not characters: 33 × "é" is 66 octets.
        #expect(throws: EmailAddressError.localPartTooLong) { try EmailAddress(String(repeating: "é", count: 33) + "@acme.test") }
        #expect(try EmailAddress(String(repeating: "é", count: 32) + "@acme.test").localPart.utf8.count == 64)
    }

    @Test func addressLiteralRefused() {
        #expect(throws: EmailAddressError.addressLiteral) { try EmailAddress("user@[192.0.2.1]") }
        #expect(throws: EmailAddressError.addressLiteral) { try EmailAddress("user@[IPv6:2001:db8::1]") }
    }

    @Test func utf8LocalPartAccepted() throws {
        let address = try EmailAddress("用户@例子.test")
        #expect(address.localPart == "用户")
        #expect(address.domain.unicode == "例子.test")
        #expect(address.domain.ascii.hasPrefix("xn--"))
        #expect(address.description == "用户@" + address.domain.ascii)
        #expect(try EmailAddress(address.description) == address)
    }

    @Test func invalidUTF8Refused() {
        let bytes: [UInt8] = [0x61, 0xFF, 0x62, UInt8(ascii: "@")] + Array("acme.test".utf8)
        #expect(throws: EmailAddressError.invalidLocalPart) { try MailboxSyntax.parse(bytes) }
    }

    @Test func mailboxSyntaxParts() throws {
        let quoted = try MailboxSyntax.parse(Array("\"a b\"@Acme.Test".utf8))
        #expect(quoted == MailboxSyntax.Parts(localPart: "a b", wasQuoted: true, domain: "Acme.Test"))
        let plain = try MailboxSyntax.parse(Array("ab@x.test".utf8))
        #expect(plain == MailboxSyntax.Parts(localPart: "ab", wasQuoted: false, domain: "x.test"))
    }

    @Test func codableRoundTrip() throws {
        // Encoding writes the quoted form; decoding parses it back.
        let address = try EmailAddress("\"a b\"@bücher.test")
        let data = try JSONEncoder().encode([address])
        #expect(String(decoding: data, as: UTF8.self) == #"["\"a b\"@xn--bcher-kva.test"]"#)
        #expect(try JSONDecoder().decode([EmailAddress].self, from: data) == [address])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([EmailAddress].self, from: Data(#"["no-at"]"#.utf8))
        }
    }

    @Test func errorsHaveOneLineDescriptions() {
        #expect(EmailAddressError.domain(.empty).description == DomainNameError.empty.description)
        #expect(EmailAddressError.localPartTooLong.description.contains("64"))
    }
}
