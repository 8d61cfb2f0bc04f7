import NIOCore
import Testing
@testable import PostgateOutbound

/// Reply framing (RFC 5321 section 4.2): multi-line replies, partial input, limits.
@Suite struct SMTPReplyDecoderTests {
    private func decode(_ text: String, decoder: SMTPReplyDecoder = SMTPReplyDecoder()) throws -> [SMTPClientReply] {
        var decoder = decoder
        var buffer = ByteBuffer(string: text)
        var replies: [SMTPClientReply] = []
        while let reply = try decoder.next(&buffer) { replies.append(reply) }
        return replies
    }

    @Test func multiLineReply() throws {
        let replies = try decode("250-mx.test hi\r\n250-SIZE 100\r\n250 STARTTLS\r\n220 x\r\n")
        #expect(replies == [SMTPClientReply(code: 250, lines: ["mx.test hi", "SIZE 100", "STARTTLS"]), SMTPClientReply(code: 220, lines: ["x"])])
    }

    @Test func partialReplyWaitsForMore() throws {
        var decoder = SMTPReplyDecoder()
        var buffer = ByteBuffer(string: "250-a\r\n250 b")
        #expect(try decoder.next(&buffer) == nil)
        buffer.writeString("\r\n")
        #expect(try decoder.next(&buffer) == SMTPClientReply(code: 250, lines: ["a", "b"]))
    }

    @Test func bareCodeAndLFOnly() throws {
        #expect(try decode("354\n") == [SMTPClientReply(code: 354, lines: [""])])
    }

    @Test func garbageAndOverlongRepliesAreErrors() {
        #expect(throws: SMTPClientError.self) { try decode("hello\r\n") }
        #expect(throws: SMTPClientError.self) { try decode("250-a\r\n251 b\r\n") }
        #expect(throws: SMTPClientError.self) { try decode(String(repeating: "x", count: 5000)) }
        #expect(throws: SMTPClientError.self) { try decode(String(repeating: "250-a\r\n", count: 300), decoder: SMTPReplyDecoder(maxLines: 100)) }
    }
}
