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

    /// Runs inside a line are taken at once; the result must not depend on where the reads end.
    @Test func sameResultWhateverTheReadSizes() {
        let header = "Subject: " + String(repeating: "s", count: 80) + "\r\n\r\n"
        let body = String(repeating: "b", count: 1100) + "\r\n..stuffed\r\nplain text\r\n" + String(repeating: "c", count: 990) + "\r\n.\r\n"
        func run(_ pieces: Int) -> (String, [SMTPInboundFramer.Frame]) {
            var framer = SMTPInboundFramer(maxLineLength: 1000, maxHeaderSize: 60)
            framer.beginData()
            let bytes = Array((header + body).utf8)
            var all: [SMTPInboundFramer.Frame] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + pieces)
                framer.append(ByteBuffer(bytes: bytes[start..<end]))
                while let frame = framer.next() { all.append(frame) }
                start = end
            }
            return flatten(all)
        }
        let whole = run(1 << 20)
        #expect(whole.1 == [.headerTooLarge, .endOfHeader, .dataLineTooLong, .endOfData])
        #expect(whole.0.contains("\r\n.stuffed\r\n"))
        for pieces in [1, 2, 7, 64, 999] {
            let split = run(pieces)
            #expect(split.0 == whole.0)
            #expect(split.1 == whole.1)
        }
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
