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

    /// RFC 9051 section 2.2.1: a synchronising literal of an argument is collected.
    @Test func synchronizingLiteralAsksForContinuation() {
        var decoder = IMAPFrameDecoder()
        let head = events(&decoder, "A003 LOGIN {10}\r\n")
        #expect(head == [.continuationRequest])
        let rest = events(&decoder, "0123456789", " pw\r\n")
        #expect(rest == [.frame(.init(parts: [text("A003 LOGIN {10}"), .literal(Array("0123456789".utf8)), text(" pw")]))])
    }

    /// RFC 9051 section 8's APPEND example: the message literal is announced, and once
    /// taken its octets come out piece by piece as they arrive, not collected.
    @Test func appendMessageLiteralStreams() {
        var decoder = IMAPFrameDecoder(maxLiteralSize: 8)
        let head = events(&decoder, "A003 APPEND saved-messages (\\Seen) {10}\r\n012")
        #expect(head == [.messageLiteral(head: .init(parts: [text("A003 APPEND saved-messages (\\Seen) {10}")]), size: 10, synchronizing: true)])
        #expect(decoder.next() == nil, "nothing more until the literal is taken or refused")
        decoder.streamMessageLiteral()
        #expect(decoder.next() == .messageData(ByteBuffer(string: "012")))
        #expect(decoder.next() == nil)
        #expect(decoder.bufferedBytes == "A003 APPEND saved-messages (\\Seen) {10}".utf8.count, "only the command's line is held")
        let rest = events(&decoder, "3456", "789\r", "\n")
        #expect(rest == [
            .messageData(ByteBuffer(string: "3456")), .messageData(ByteBuffer(string: "789")),
            .frame(.init(parts: [text("A003 APPEND saved-messages (\\Seen) {10}"), .streamed(size: 10), text("")])),
        ])
        // A mailbox given as a literal is an argument: collected; the message after it streams.
        let named = events(&decoder, "b APPEND {5+}\r\nINBOX {2+}\r\n")
        #expect(named == [.messageLiteral(head: .init(parts: [text("b APPEND {5+}"), .literal(Array("INBOX".utf8)), text(" {2+}")]),
                                          size: 2, synchronizing: false)])
    }

    /// A refused message literal: a synchronizing one is never sent; a non-synchronizing
    /// one's octets and the rest of its line are dropped (RFC 7888), and the next
    /// command is read as usual.
    @Test func refusedMessageLiteralIsSkipped() {
        var decoder = IMAPFrameDecoder()
        #expect(events(&decoder, "x APPEND INBOX {101}\r\n").count == 1)
        decoder.refuseMessageLiteral()
        #expect(events(&decoder, "y NOOP\r\n") == [.frame(.init(parts: [text("y NOOP")]))])
        #expect(events(&decoder, "z APPEND INBOX {20+}\r\n0123456789").count == 1)
        decoder.refuseMessageLiteral()
        #expect(events(&decoder, "0123456789 {3}\r\nw NOOP\r\n") == [.frame(.init(parts: [text("w NOOP")]))])
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
        #expect(events(&decoder, "x LOGIN {101}\r\n") == [.literalTooLarge(tag: "x", synchronizing: true)])
        #expect(events(&decoder, "y NOOP\r\n") == [.frame(.init(parts: [text("y NOOP")]))])
        #expect(events(&decoder, "z LOGIN {5000+}\r\n") == [.literalTooLarge(tag: "z", synchronizing: false)])
    }

    @Test func tooManyLiterals() {
        var decoder = IMAPFrameDecoder(maxLiterals: 2)
        let result = events(&decoder, "a X {1+}\r\na {1+}\r\nb {1+}\r\n")
        #expect(result.last == .literalTooLarge(tag: "a", synchronizing: false))
    }
}
