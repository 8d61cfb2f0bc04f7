import Testing
@testable import PostgateDKIM

/// RFC 6376 section 3.4: header and body canonicalization, including the section 3.4.5
/// examples, and the streaming body canonicalizer fed in every split of the input.
struct CanonicalizationTests {
    private func body(_ text: String, _ algorithm: DKIMCanonicalization, chunk: Int = .max) -> String {
        var canonicalizer = DKIMBodyCanonicalizer(algorithm)
        var output: [UInt8] = []
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            Array(bytes[offset..<end]).withUnsafeBytes { canonicalizer.feed($0, into: &output) }
            offset = end
        }
        canonicalizer.finish(into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private func header(_ text: String, _ algorithm: DKIMCanonicalization) -> String {
        String(decoding: algorithm.canonicalize(headerField: Array(text.utf8)), as: UTF8.self)
    }

    @Test func section345Example() {
        // A: <SP> c <CR><LF>  B <SP> : <SP> <HTAB> d <HTAB> <SP> <CR><LF> <HTAB> e <CR><LF>
        #expect(header("A: X\r\n", .relaxed) == "a:X\r\n")
        #expect(header("B : Y\t\r\n\tZ  \r\n", .relaxed) == "b:Y Z\r\n")
        #expect(header("B : Y\t\r\n\tZ  \r\n", .simple) == "B : Y\t\r\n\tZ  \r\n")
        let input = " C \r\nD \t E\r\n\r\n\r\n"
        #expect(body(input, .relaxed) == " C\r\nD E\r\n")
        #expect(body(input, .simple) == " C \r\nD \t E\r\n")
    }

    @Test func emptyBodies() {
        #expect(body("", .simple) == "\r\n")
        #expect(body("", .relaxed) == "")
        #expect(body("\r\n\r\n", .simple) == "\r\n")
        #expect(body("\r\n \r\n", .relaxed) == "")
    }

    @Test func missingFinalLineEnd() {
        #expect(body("abc", .simple) == "abc\r\n")
        #expect(body("abc  ", .relaxed) == "abc\r\n")
    }

    @Test func innerEmptyLinesAndLoneCRKept() {
        #expect(body("a\r\n\r\n\r\nb\r\n\r\n", .relaxed) == "a\r\n\r\n\r\nb\r\n")
        #expect(body("a\rb\r\n", .simple) == "a\rb\r\n")
        #expect(body("a \t\rb\r\n", .relaxed) == "a \rb\r\n")
    }

    @Test func everyChunkSizeGivesTheSameResult() {
        let input = "  Hello \t world  \r\n\r\n\t\r\nline\rwith CR  \r\n \r\n\r\n"
        for algorithm in DKIMCanonicalization.allCases {
            let whole = body(input, algorithm)
            for chunk in 1...8 { #expect(body(input, algorithm, chunk: chunk) == whole) }
        }
    }

    @Test func unixLineEndsCanonicalizeLikeCRLF() {
        #expect(body("a \nb\n\n", .relaxed) == body("a \r\nb\r\n\r\n", .relaxed))
        #expect(body("a \nb\n\n", .simple) == body("a \r\nb\r\n\r\n", .simple))
    }

    @Test func relaxedHeaderNameAndColon() {
        #expect(header("SUBJect \t:  Hello   World \r\n", .relaxed) == "subject:Hello World\r\n")
        #expect(header("X-Empty:\r\n", .relaxed) == "x-empty:\r\n")
    }

    @Test func canonicalizationTag() {
        #expect(DKIMCanonicalizationPair(tag: "relaxed") == DKIMCanonicalizationPair(header: .relaxed, body: .simple))
        #expect(DKIMCanonicalizationPair(tag: "simple/relaxed") == DKIMCanonicalizationPair(header: .simple, body: .relaxed))
        #expect(DKIMCanonicalizationPair(tag: "fancy/simple") == nil)
        #expect(DKIMCanonicalizationPair(tag: "simple/simple/simple") == nil)
    }

    @Test func headerSectionSplitting() {
        let fields = DKIMHeaderField.split(headerSection: Array("From: a@b\r\nSubject: x\r\n y\r\nTo: c@d\r\n".utf8))
        #expect(fields.map(\.name) == ["from", "subject", "to"])
        #expect(fields[1].raw == Array("Subject: x\r\n y\r\n".utf8))
        #expect(fields[1].value == "x y")
    }
}
