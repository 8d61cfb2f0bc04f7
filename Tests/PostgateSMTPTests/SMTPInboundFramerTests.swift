import NIOCore
import Testing
@testable import PostgateSMTP

/// The framer on its own: command lines, dot-unstuffing, end of data, and the
/// smuggling and STARTTLS-injection defences.
@Suite struct SMTPInboundFramerTests {
    private func frames(_ framer: inout SMTPInboundFramer, _ text: String) -> [SMTPInboundFramer.Frame] {
        framer.append(ByteBuffer(string: text))
        var out: [SMTPInboundFramer.Frame] = []
        while let frame = framer.next() { out.append(frame) }
        return out
    }

    /// Data frames joined, other frames kept, for comparisons.
    private func flatten(_ frames: [SMTPInboundFramer.Frame]) -> (String, [SMTPInboundFramer.Frame]) {
        var data = ""
        var events: [SMTPInboundFramer.Frame] = []
        for frame in frames {
            if case .data(let buffer) = frame { data += String(buffer: buffer) } else { events.append(frame) }
        }
        return (data, events)
    }

    @Test func splitsPipelinedCommands() {
        var framer = SMTPInboundFramer()
        let out = frames(&framer, "EHLO a\r\nMAIL FROM:<x@y.z>\r\nRCPT")
        #expect(out == [.command(Array("EHLO a".utf8)), .command(Array("MAIL FROM:<x@y.z>".utf8))])
        #expect(frames(&framer, " TO:<q@y.z>\r\n") == [.command(Array("RCPT TO:<q@y.z>".utf8))])
    }

    @Test func refusesBareLineFeedAndBareCarriageReturnInCommands() {
        var framer = SMTPInboundFramer()
        #expect(frames(&framer, "NOOP\nNO\rOP\r\nNOOP\r\n") == [.commandBareLineEnding, .commandBareLineEnding, .command(Array("NOOP".utf8))])
    }

    @Test func skipsTooLongCommandLinesWithoutBuffering() {
        var framer = SMTPInboundFramer(maxLineLength: 600)
        let long = String(repeating: "A", count: 5000)
        #expect(frames(&framer, long).isEmpty)
        #expect(framer.bufferedBytes < 1000)
        #expect(frames(&framer, "B\r\nNOOP\r\n") == [.commandLineTooLong, .command(Array("NOOP".utf8))])
    }

    @Test func unstuffsDotsAndEndsAtCRLFDotCRLF() {
        var framer = SMTPInboundFramer()
        framer.beginData()
        let (data, events) = flatten(frames(&framer, "Subject: x\r\n\r\n..leading\r\n.\r\nQUIT\r\n"))
        #expect(data == "Subject: x\r\n\r\n.leading\r\n")
        #expect(events == [.endOfHeader, .endOfData, .command(Array("QUIT".utf8))])
        #expect(framer.mode == .command)
    }

    @Test func endOfDataSplitAcrossReads() {
        var framer = SMTPInboundFramer()
        framer.beginData()
        var all: [SMTPInboundFramer.Frame] = []
        for piece in ["a\r", "\n", ".", "\r", "\n"] { all += frames(&framer, piece) }
        let (data, events) = flatten(all)
        #expect(data == "a\r\n")
        #expect(events == [.endOfData])
    }

    @Test(arguments: [
        "body\n.\nMAIL FROM:<a@b.c>\r\n",     // LF . LF (CVE-2023-51764)
        "body\r\n.\nMAIL FROM:<a@b.c>\r\n",   // CRLF . LF
        "body\n.\r\nMAIL FROM:<a@b.c>\r\n",   // LF . CRLF
        "body\r.\r\nMAIL FROM:<a@b.c>\r\n",   // CR . CRLF
        "bo\rdy\r\n.\r\n",                    // bare CR inside a line
    ])
    func refusesSmugglingLineEndings(_ input: String) {
        var framer = SMTPInboundFramer()
        framer.beginData()
        let (_, events) = flatten(frames(&framer, input))
        #expect(events.contains(.bareLineEndingInData))
        #expect(!events.contains(.endOfData))
        #expect(!events.contains { if case .command = $0 { true } else { false } })
        #expect(framer.mode == .discard)
        #expect(frames(&framer, "RSET\r\n").isEmpty)
    }

    @Test func reportsLongLinesAndLargeHeadersOnce() {
        var framer = SMTPInboundFramer(maxLineLength: 1000, maxHeaderSize: 50)
        framer.beginData()
        let header = "X: " + String(repeating: "h", count: 60) + "\r\n\r\n"
        let long = String(repeating: "b", count: 1200) + "\r\n" + String(repeating: "c", count: 1200) + "\r\n.\r\n"
        let (data, events) = flatten(frames(&framer, header + long))
        #expect(events == [.headerTooLarge, .endOfHeader, .dataLineTooLong, .endOfData])
        #expect(data.utf8.count == header.utf8.count + long.utf8.count - 3)
    }

    @Test func acceptsLineOfExactlyTheLimit() {
        var framer = SMTPInboundFramer(maxLineLength: 1000)
        framer.beginData()
        let line = String(repeating: "x", count: 998) + "\r\n"
        let (_, events) = flatten(frames(&framer, "\r\n" + line + "." + line + ".\r\n"))
        #expect(events == [.endOfHeader, .endOfData])
    }

    @Test func discardingBufferedBytesDropsPipelinedInjection() {
        var framer = SMTPInboundFramer()
        framer.append(ByteBuffer(string: "STARTTLS\r\nMAIL FROM:<evil@x.y>\r\n"))
        #expect(framer.next() == .command(Array("STARTTLS".utf8)))
        framer.discardBufferedBytes()
        #expect(framer.next() == nil)
        #expect(framer.bufferedBytes == 0)
    }

    @Test func dataFramesAreSlicesNotWholeMessage() {
        var framer = SMTPInboundFramer()
        framer.beginData()
        let body = String(repeating: "0123456789abcdef0123456789abcdef0123456789abcdef\r\n", count: 2000)
        let (data, events) = flatten(frames(&framer, "\r\n" + body))
        #expect(data.utf8.count == body.utf8.count + 2)
        #expect(events == [.endOfHeader])
        #expect(framer.bufferedBytes == 0)
    }
}
