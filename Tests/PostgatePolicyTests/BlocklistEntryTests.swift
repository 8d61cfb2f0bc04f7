import PostgateMessage
import Testing
@testable import PostgatePolicy

@Suite struct BlocklistEntryTests {
    @Test func addressesFoldCaseAndIDN() throws {
        let unicode = try BlocklistEntry(parsing: "  Bob@Bücher.Example ")
        let ascii = try BlocklistEntry(parsing: "<bob@xn--bcher-kva.example>")
        #expect(unicode == ascii)
        #expect(unicode.kind == .address)
        #expect(unicode.value == "bob@xn--bcher-kva.example")
        #expect(unicode.display == "bob@bücher.example")
        #expect(unicode.matches(try EmailAddress("BOB@xn--BCHER-kva.example")))
        #expect(!unicode.matches(try EmailAddress("alice@bücher.example")))
    }

    @Test func domainsInEveryWrittenForm() throws {
        for text in ["spam.example", "@spam.example", "*@SPAM.example"] {
            let entry = try BlocklistEntry(parsing: text)
            #expect(entry.kind == .domain)
            #expect(entry.value == "spam.example")
        }
        let idn = try BlocklistEntry(parsing: "Bücher.example")
        #expect(idn.value == "xn--bcher-kva.example")
        #expect(idn.matches(try EmailAddress("anyone@xn--bcher-kva.example")))
    }

    @Test func aDomainBlocksItsSubdomainsButNotLookAlikes() throws {
        let entry = try BlocklistEntry(parsing: "spam.example")
        #expect(entry.matches(try EmailAddress("a@spam.example")))
        #expect(entry.matches(try EmailAddress("a@mx.eu.spam.example")))
        #expect(!entry.matches(try EmailAddress("a@notspam.example")))
        #expect(!entry.matches(try EmailAddress("a@spam.example.org")))
        #expect(BlocklistEntry.keys(matching: try EmailAddress("A@mx.Spam.example")) == [
            "a@mx.spam.example", "mx.spam.example", "spam.example",
        ])
    }

    @Test func refusesWhatIsNeitherAnAddressNorADomain() {
        for text in ["", "   ", "bob@", "@", "not a domain", "a@b@c.example", "@x@y.example", "localhost"] {
            #expect(throws: BlocklistEntryError.self, "\(text)") { try BlocklistEntry(parsing: text) }
        }
    }
}
