import Testing
@testable import PostgateMessage

@Suite struct MessageHeaderTests {
    private func parse(_ text: String) -> MessageHeader {
        MessageHeader.parse(Array(text.utf8))
    }

    @Test func simpleFieldsWithCRLF() {
        let header = parse("From: a@b.test\r\nTo: c@d.test\r\nSubject: hi there\r\n\r\nbody\r\n")
        #expect(header.fields == [
            .init(name: "From", value: "a@b.test"),
            .init(name: "To", value: "c@d.test"),
            .init(name: "Subject", value: "hi there"),
        ])
    }

    @Test func foldedLinesAreUnfolded() {
        let header = parse("Subject: a long\r\n subject\r\n\tcontinued\r\nX-Other: 1\r\n\r\n")
        #expect(header["Subject"] == "a long subject\tcontinued")
        #expect(header["X-Other"] == "1")
        #expect(header.fields.count == 2)
    }

    @Test func lfOnlyInput() {
        let header = parse("From: a@b.test\nSubject: one\n two\n\nBody: not a field\n")
        #expect(header.fields == [
            .init(name: "From", value: "a@b.test"),
            .init(name: "Subject", value: "one two"),
        ])
    }

    @Test func stopsAtFirstEmptyLine() {
        let header = parse("A: 1\r\n\r\nB: 2\r\n\r\nC: 3\r\n")
        #expect(header.fields.map(\.name) == ["A"])
        #expect(header["B"] == nil)
        #expect(header["C"] == nil)
    }

    @Test func caseInsensitiveLookup() {
        let header = parse("Message-ID: <x@y.test>\r\n\r\n")
        #expect(header["message-id"] == "<x@y.test>")
        #expect(header["MESSAGE-ID"] == "<x@y.test>")
        #expect(header["Message-Id"] == "<x@y.test>")
        #expect(header["Message"] == nil)
        #expect(header.fields.first?.name == "Message-ID")
    }

    @Test func repeatedFields() {
        let header = parse("Received: from a\r\nSubject: s\r\nreceived: from b\r\n by c\r\nRECEIVED: from d\r\n\r\n")
        #expect(header.values("Received") == ["from a", "from b by c", "from d"])
        #expect(header["Received"] == "from a")
        #expect(header.values("X-Missing") == [])
    }

    @Test func lineWithoutColonIsIgnored() {
        let header = parse("From: a@b.test\r\nthis line has no colon\r\nTo: c@d.test\r\n\r\n")
        #expect(header.fields == [
            .init(name: "From", value: "a@b.test"),
            .init(name: "To", value: "c@d.test"),
        ])
    }

    @Test func nameWithSpaceOrEmptyNameIgnored() {
        let header = parse("Bad Name: x\r\n: empty\r\nGood: y\r\n\r\n")
        #expect(header.fields == [.init(name: "Good", value: "y")])
    }

    @Test func valueKeepsLaterColonsAndTrimsSpace() {
        let header = parse("Date:   Thu, 01 Jan 1970 00:00:00 +0000  \r\nEmpty:\r\n\r\n")
        #expect(header["Date"] == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(header["Empty"] == "")
    }

    @Test func lastLineWithoutNewlineIsKept() {
        let header = parse("From: a@b.test\r\nSubject: end")
        #expect(header["From"] == "a@b.test")
        #expect(header["Subject"] == "end")
        let folded = parse("Subject: one\r\n two")
        #expect(folded["Subject"] == "one two")
    }

    @Test func emptyInput() {
        #expect(parse("").fields.isEmpty)
        #expect(parse("\r\nFrom: a@b.test\r\n").fields.isEmpty)
    }

    @Test func parsesSlices() {
        let bytes = Array("junk\nFrom: x@y.test\n\n".utf8)
        let header = MessageHeader.parse(bytes[5...])
        #expect(header["From"] == "x@y.test")
    }

    /// Contiguous bytes take the fast path; any other collection is copied first: both
    /// must read the same fields, folding and bare CR included.
    @Test func contiguousAndOtherCollectionsParseAlike() {
        let text = "From: a@b.test\r\nSubject: one\r\n two\r\n\tthree\rfour\r\nX: \r\n:no name\r\nbad name: x\r\n\r\nBody: no\r\n"
        let bytes = Array(text.utf8)
        let fromArray = MessageHeader.parse(bytes)
        let fromLazy = MessageHeader.parse(bytes.lazy.map { $0 })
        #expect(fromArray == fromLazy)
        #expect(fromArray.fields == [
            .init(name: "From", value: "a@b.test"),
            .init(name: "Subject", value: "one two\tthree\rfour"),
            .init(name: "X", value: ""),
        ])
    }

    @Test func fieldNamesMatchWithoutCaseInASCIIOnly() {
        let header = parse("message-id: <a@b>\r\nX-AUTO-Submitted: auto-replied\r\nReceived: one\r\nRECEIVED: two\r\n\r\n")
        #expect(header["Message-ID"] == "<a@b>")
        #expect(header["x-auto-submitted"] == "auto-replied")
        #expect(header.values("Received") == ["one", "two"])
        #expect(header["Message-I"] == nil && header["Message-IDs"] == nil)
    }

    @Test func asciiCaseFoldingTouchesLettersOnly() {
        #expect("Content-Type".equalsIgnoringASCIICase("CONTENT-type"))
        #expect(!"a@b".equalsIgnoringASCIICase("a`b"), "@ and ` differ only in the case bit, and are not letters")
        #expect(!"[x]".equalsIgnoringASCIICase("{x}"))
        #expect(!"é".equalsIgnoringASCIICase("É"), "non-ASCII compares exactly")
        #expect(!"abc".equalsIgnoringASCIICase("abcd"))
        #expect("".equalsIgnoringASCIICase(""))
    }
}
