import Testing
@testable import PostgateMessage

@Suite struct DomainNameTests {
    @Test func uLabelBecomesALabel() throws {
        let name = try DomainName("bücher.test")
        #expect(name.ascii == "xn--bcher-kva.test")
        #expect(name.unicode == "bücher.test")
        #expect(name.description == "xn--bcher-kva.test")
    }

    @Test func aLabelGivesUnicodeForm() throws {
        let name = try DomainName("xn--bcher-kva.test")
        #expect(name.ascii == "xn--bcher-kva.test")
        #expect(name.unicode == "bücher.test")
    }

    @Test func bothFormsAreEqual() throws {
        #expect(try DomainName("bücher.test") == DomainName("XN--BCHER-KVA.TEST"))
        #expect(try DomainName("BÜCHER.test") == DomainName("xn--bcher-kva.test"))
    }

    @Test func upperCaseIsFolded() throws {
        let name = try DomainName("Mail.ACME.Test")
        #expect(name.ascii == "mail.acme.test")
        #expect(name.unicode == "mail.acme.test")
        #expect(name == (try DomainName("mail.acme.test")))
    }

    @Test func plainNamesWithDigitsAndHyphens() throws {
        #expect(try DomainName("mx-1.example-2.com").ascii == "mx-1.example-2.com")
        #expect(try DomainName("1.2.3.example").ascii == "1.2.3.example")
        #expect(try DomainName("a.b2").ascii == "a.b2")
    }

    @Test(arguments: [
        ("", DomainNameError.empty),
        ("a.test.", .emptyLabel),
        (".a.test", .emptyLabel),
        ("a..b", .emptyLabel),
        ("localhost", .notFullyQualified),
        ("-a.test", .hyphenAtLabelEdge("-a")),
        ("a-.test", .hyphenAtLabelEdge("a-")),
        ("a.test-", .hyphenAtLabelEdge("test-")),
        ("my_host.test", .invalidCharacter("my_host")),
        ("a b.test", .invalidCharacter("a b")),
        ("1.2.3.4", .numericTopLevel),
        ("example.123", .numericTopLevel),
    ])
    func refused(text: String, expected: DomainNameError) {
        #expect(throws: expected) { try DomainName(text) }
    }

    @Test func labelLengthLimit() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(try DomainName(label63 + ".test").ascii == label63 + ".test")
        let label64 = String(repeating: "a", count: 64)
        #expect(throws: DomainNameError.labelTooLong(label64)) { try DomainName(label64 + ".test") }
    }

    @Test func nameLengthLimit() throws {
        // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253
        let label = String(repeating: "a", count: 63)
        let name253 = [label, label, label, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(name253.utf8.count == 253)
        #expect(try DomainName(name253).ascii == name253)
        let name254 = [label, label, label, String(repeating: "b", count: 62)].joined(separator: ".")
        #expect(throws: DomainNameError.tooLong) { try DomainName(name254) }
        let huge = String(repeating: "a.", count: 200) + "test"
        #expect(throws: DomainNameError.tooLong) { try DomainName(huge) }
    }

    @Test func internationalisedLabelTooLong() {
        // 60 'ü' encode to an A-label far over 63 octets.
        let text = String(repeating: "ü", count: 60) + ".test"
        #expect(throws: DomainNameError.self) { try DomainName(text) }
    }

    @Test func disallowedCodePointsAreRefused() {
        // U+2665 BLACK HEART SUIT, U+2028 LINE SEPARATOR and U+2603 SNOWMAN are not valid in IDNA2008.
        for text in ["i♥mail.test", "a\u{2028}b.test", "☃ü.test"] {
            #expect(throws: DomainNameError.self, "\(text)") { try DomainName(text) }
        }
        do {
            _ = try DomainName("i♥mail.test")
            Issue.record("accepted a disallowed code point")
        } catch {
            guard case .idna = error else {
                Issue.record("expected an IDNA error, got \(error)")
                return
            }
        }
    }

    @Test func invalidALabelIsRefused() throws {
        // Not valid Punycode / not a valid U-label once decoded.
        #expect(throws: DomainNameError.self) { try DomainName("xn--a.test") }
        #expect(throws: DomainNameError.self) { try DomainName("xn--zz-zzzzzzzzzzz.test") }
        // Valid Punycode of a disallowed code point (U+2665 BLACK HEART SUIT).
        #expect(throws: DomainNameError.self) { try DomainName("xn--g6h.test") }
        // A valid A-label next to plain labels still works.
        #expect(try DomainName("mail.xn--bcher-kva.test").unicode == "mail.bücher.test")
    }

    @Test func embeddedNULIsNotTruncated() {
        // libidn2 reads a C string: a NUL must not cut the name short and pass as "bücher.test".
        #expect(throws: DomainNameError.self) { try DomainName("bücher.test\u{0}.evil") }
        #expect(throws: DomainNameError.self) { try DomainName("a.test\u{0}.evil") }
    }

    @Test func addressLiteral() {
        #expect(DomainName.isAddressLiteral("[192.0.2.1]"))
        #expect(DomainName.isAddressLiteral("[IPv6:::1]"))
        #expect(!DomainName.isAddressLiteral("example.com"))
        #expect(!DomainName.isAddressLiteral("[example.com"))
    }

    @Test func errorDescriptionsNameTheLabel() {
        #expect(DomainNameError.hyphenAtLabelEdge("-a").description.contains("'-a'"))
        #expect(DomainNameError.invalidCharacter("my_host").description.contains("'my_host'"))
    }
}
