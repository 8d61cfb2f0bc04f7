import NIOCore
import Testing
@testable import PostgateIMAP

@Suite struct IMAPFrameDecoderTests {
    private func events(_ decoder: inout IMAPFrameDecoder, _ chunks: String...) -> [IMAPFrameDecoder.Event] {
        var result: [IMAPFrameDecoder.Event] = []
        for chunk in chunks {
            decoder.append(ByteBuffer(string: chunk))
            while let event = decoder.next() { result.append(event) }
        }
        return result
    }

    private func text(_ s: String) -> IMAPFrameDecoder.Frame.Part { .text(Array(s.utf8)) }

    @Test func lineSplitAcrossChunks() {
        var decoder = IMAPFrameDecoder()
        let result = events(&decoder, "a001 NO", "OP\r", "\na002 CAPABILITY\r\n")
        #expect(result == [.frame(.init(parts: [text("a001 NOOP")])), .frame(.init(parts: [text("a002 CAPABILITY")]))])
    }

    /// RFC 9051 section 8: the APPEND example with a synchronising literal.
    @Test func synchronizingLiteralAsksForContinuation() {
        var decoder = IMAPFrameDecoder()
        let head = events(&decoder, "A003 APPEND saved-messages (\\Seen) {10}\r\n")
        #expect(head == [.continuationRequest])
        let rest = events(&decoder, "0123456789", "\r\n")
        #expect(rest == [.frame(.init(parts: [
            text("A003 APPEND saved-messages (\\Seen) {10}"), .literal(Array("0123456789".utf8)), text(""),
        ]))])
    }

    /// RFC 7888: LITERAL+ needs no continuation request.
    @Test func nonSynchronizingLiteral() {
        var decoder = IMAPFrameDecoder()
        let result = events(&decoder, "a LOGIN {3+}\r\nbob {4+}\r\npa\r\n\r\n")
        #expect(result == [.frame(.init(parts: [
            text("a LOGIN {3+}"), .literal(Array("bob".utf8)), text(" {4+}"), .literal(Array("pa\r\n".utf8)), text(""),
        ]))])
    }

    @Test func longLineIsSkippedWithItsTag() {
        var decoder = IMAPFrameDecoder(maxLineLength: 1000)
        let result = events(&decoder, "t1 NOOP " + String(repeating: "x", count: 3000), String(repeating: "y", count: 3000) + "\r\nt2 NOOP\r\n")
        #expect(result == [.lineTooLong(tag: "t1"), .frame(.init(parts: [text("t2 NOOP")]))])
        #expect(decoder.bufferedBytes < 100)
    }

    @Test func literalTooLarge() {
        var decoder = IMAPFrameDecoder(maxLiteralSize: 100)
        #expect(events(&decoder, "x APPEND INBOX {101}\r\n") == [.literalTooLarge(tag: "x", synchronizing: true)])
        #expect(events(&decoder, "y NOOP\r\n") == [.frame(.init(parts: [text("y NOOP")]))])
        #expect(events(&decoder, "z APPEND INBOX {5000+}\r\n") == [.literalTooLarge(tag: "z", synchronizing: false)])
    }

    @Test func tooManyLiterals() {
        var decoder = IMAPFrameDecoder(maxLiterals: 2)
        let result = events(&decoder, "a X {1+}\r\na {1+}\r\nb {1+}\r\n")
        #expect(result.last == .literalTooLarge(tag: "a", synchronizing: false))
    }
}
