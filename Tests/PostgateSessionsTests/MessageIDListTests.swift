import Testing
@testable import PostgateSessions

/// Message-ID lists are read byte by byte when ASCII; the result must be what the
/// `Character` reading gives.
@Suite struct MessageIDListTests {
    @Test func asciiAndUnicodeReadingsOfMessageIDsAgree() {
        let values = [
            "<a@b.test>", " <a@b.test> <c@d.test>\t<e@f.test> ", "<a @b\r\n\t.test>", "<>", "<unclosed@x",
            "x <y@z> w", "<a@b><c@d>", "no brackets@here", "",
        ]
        for value in values {
            #expect(SessionHeaderFacts.asciiMessageIDs(value) == SessionHeaderFacts.unicodeMessageIDs(value), "\(value)")
        }
        #expect(SessionHeaderFacts.messageIDs(" <a@b.test> <c @d.test>") == ["a@b.test", "c@d.test"])
        #expect(SessionHeaderFacts.messageIDs("bare@id.test") == ["bare@id.test"])
        #expect(SessionHeaderFacts.messageIDs("<é@x.test>") == ["é@x.test"])
        let many = (1...150).map { "<\($0)@x>" }.joined(separator: " ")
        #expect(SessionHeaderFacts.messageIDs(many).first == "51@x")
    }
}
