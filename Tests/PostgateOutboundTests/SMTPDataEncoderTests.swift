import Testing
@testable import PostgateOutbound

/// Dot-stuffing and CRLF normalisation (RFC 5321 section 4.5.2), across chunk boundaries.
@Suite struct SMTPDataEncoderTests {
    private func encode(_ chunks: [String]) -> String {
        var encoder = SMTPDataEncoder()
        var out: [UInt8] = []
        for chunk in chunks { encoder.encode(Array(chunk.utf8), into: &out) }
        encoder.finish(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func dotsAtLineStartAreDoubled() {
        #expect(encode([".a\r\nb.\r\n..c\r\n"]) == "..a\r\nb.\r\n...c\r\n.\r\n")
    }

    @Test func bareLFAndBareCRBecomeCRLF() {
        #expect(encode(["a\nb\rc\r\n"]) == "a\r\nb\r\nc\r\n.\r\n")
    }

    @Test func aMissingLastLineEndIsAdded() {
        #expect(encode(["a\r\nlast"]) == "a\r\nlast\r\n.\r\n")
        #expect(encode([]) == ".\r\n")
        #expect(encode(["a\r"]) == "a\r\n.\r\n")
    }

    @Test func chunkBoundariesDoNotMatter() {
        let whole = "x\r\n.y\r\n.\r\nz"
        let expected = encode([whole])
        for split in 0...whole.utf8.count {
            let bytes = Array(whole.utf8)
            let a = String(decoding: bytes[..<split], as: UTF8.self)
            let b = String(decoding: bytes[split...], as: UTF8.self)
            #expect(encode([a, b]) == expected, "split at \(split)")
        }
        #expect(expected == "x\r\n..y\r\n..\r\nz\r\n.\r\n")
    }
}
