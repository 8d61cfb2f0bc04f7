import NIOCore
import Testing
@testable import PostgateSMTP

@Suite struct SMTPReplyTests {
    @Test func multilineFormat() {
        var buffer = ByteBuffer()
        SMTPReply(250, nil, ["mx greets c", "PIPELINING", "SIZE 10"]).write(to: &buffer)
        #expect(String(buffer: buffer) == "250-mx greets c\r\n250-PIPELINING\r\n250 SIZE 10\r\n")
    }

    @Test func enhancedCode() {
        var buffer = ByteBuffer()
        SMTPReply(550, "5.1.1", "no such user").write(to: &buffer)
        #expect(String(buffer: buffer) == "550 5.1.1 no such user\r\n")
    }

    @Test func textCannotForgeReplyLines() {
        var buffer = ByteBuffer()
        SMTPReply(550, "5.1.1", "<a\r\n250 ok@b>").write(to: &buffer)
        #expect(String(buffer: buffer) == "550 5.1.1 <a 250 ok@b>\r\n")
    }
}
