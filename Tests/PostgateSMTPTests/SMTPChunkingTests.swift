import NIOCore
import PostgateMessage
import Testing
@testable import PostgateSMTP

/// CHUNKING (RFC 3030): BDAT parsing, chunk framing and the session rules, without I/O.
@Suite struct SMTPChunkingTests {
    typealias Machine = SMTPServerStateMachine

    private func machine() -> Machine {
        Machine(configuration: SMTPServerConfiguration(hostname: "mx.test"),
                session: SMTPSessionInfo(remoteAddress: "127.0.0.1"), startTLSAvailable: false)
    }

    private func send(_ machine: inout Machine, _ line: String) -> Machine.Action {
        machine.receive(SMTPCommandParser.parse(Array(line.utf8)))
    }

    private func code(_ action: Machine.Action) -> Int? {
        switch action {
        case .send(let reply), .abortMessage(let reply): reply.code
        case .sendAndClose(let replies): replies.first?.code
        default: nil
        }
    }

    /// EHLO, MAIL and one accepted recipient.
    private func transaction(_ m: inout Machine) {
        _ = send(&m, "EHLO c.test")
        _ = send(&m, "MAIL FROM:<a@c.test>")
        if case .verifyRecipient(let recipient, _) = send(&m, "RCPT TO:<b@h.test>") {
            _ = m.recipientVerified(recipient, .accept)
        }
    }

    @Test func parsesBDAT() {
        #expect(SMTPCommandParser.parse(Array("BDAT 1000".utf8)) == .success(.bdat(size: 1000, last: false)))
        #expect(SMTPCommandParser.parse(Array("bdat 0 last".utf8)) == .success(.bdat(size: 0, last: true)))
        for bad in ["BDAT", "BDAT x", "BDAT -1", "BDAT 10 LAST extra", "BDAT 10 FIRST", "BDAT 1234567890123456789"] {
            #expect(SMTPCommandParser.parse(Array(bad.utf8)) == .success(.malformedBDAT), "\(bad)")
        }
    }

    @Test func ehloAdvertisesChunking() {
        var m = machine()
        guard case .send(let reply) = send(&m, "EHLO c.test") else { Issue.record("no reply"); return }
        #expect(reply.lines.contains("CHUNKING"))
    }

    @Test func chunksThenLastCommits() {
        var m = machine()
        transaction(&m)
        guard case .openChunkedMessage = send(&m, "BDAT 10") else { Issue.record("no open"); return }
        let opened = m.messageOpened(.success(()))
        #expect(opened == .nothing)
        let accepted = m.receiveData(totalSize: 10)
        #expect(accepted)
        let first = m.endOfChunk()
        #expect(code(first) == 250)
        #expect(m.hasChunkedMessage)
        let last = send(&m, "BDAT 5 LAST")
        #expect(last == .nothing)
        guard case .commitMessage = m.endOfChunk() else { Issue.record("no commit"); return }
        let committed = m.messageCommitted(.success("ID"))
        #expect(code(committed) == 250)
        #expect(!m.hasChunkedMessage)
    }

    @Test func refusedChunksAreReadThenAnswered() {
        var m = machine()
        let early = send(&m, "BDAT 4")
        #expect(early == .nothing)
        #expect(m.isReceivingData && m.isRefusingData)
        let refused = m.endOfChunk()
        #expect(code(refused) == 503)
        _ = send(&m, "EHLO c.test")
        _ = send(&m, "MAIL FROM:<a@c.test>")
        let noRecipients = send(&m, "BDAT 3 LAST")
        #expect(noRecipients == .nothing)
        let answered = m.endOfChunk()
        #expect(code(answered) == 554)  // no valid recipients
    }

    @Test func oversizeOrBareLineEndingRefusesAtTheLastChunk() {
        var m = machine()
        transaction(&m)
        _ = send(&m, "BDAT 10")
        _ = m.messageOpened(.success(()))
        m.receiveBareLineEndingInChunk()
        let dropped = m.receiveData(totalSize: 10)
        #expect(!dropped)
        let middle = m.endOfChunk()
        #expect(code(middle) == 250)  // a middle chunk is acknowledged as received
        _ = send(&m, "BDAT 1 LAST")
        let final = m.endOfChunk()
        #expect(code(final) == 550)
        let noop = send(&m, "NOOP")
        #expect(code(noop) == 250)  // the session goes on
    }

    @Test func rsetOrDataBetweenChunks() {
        var m = machine()
        transaction(&m)
        _ = send(&m, "BDAT 2")
        _ = m.messageOpened(.success(()))
        _ = m.endOfChunk()
        let data = send(&m, "DATA")
        #expect(code(data) == 503)
        guard case .abortMessage(let reply) = send(&m, "RSET") else { Issue.record("RSET did not abort"); return }
        #expect(reply.code == 250)
        #expect(!m.hasChunkedMessage)
    }

    @Test func malformedBDATClosesTheSession() {
        var m = machine()
        guard case .sendAndClose(let replies) = send(&m, "BDAT lots") else { Issue.record("not closed"); return }
        #expect(replies.first?.code == 501)
    }

    @Test func framerPassesChunksAsTheyAreAndThenCommands() {
        var framer = SMTPInboundFramer()
        framer.beginChunk(size: 12, newMessage: true)
        framer.append(ByteBuffer(string: "A: b\r\n\r\n.\r\nxQUIT\r\n"))
        var data = ""
        var events: [SMTPInboundFramer.Frame] = []
        while let frame = framer.next() {
            if case .data(let buffer) = frame { data += String(buffer: buffer) } else { events.append(frame) }
        }
        #expect(data == "A: b\r\n\r\n.\r\nx")  // no dot-unstuffing, exactly 12 octets
        #expect(events == [.endOfHeader, .endOfChunk, .command(Array("QUIT".utf8))])
    }

    @Test func framerReportsABareLineFeedOnceAndKeepsCounting() {
        var framer = SMTPInboundFramer()
        framer.beginChunk(size: 7, newMessage: true)
        framer.append(ByteBuffer(string: "a\nb\nc\r\nNOOP\r\n"))
        var events: [SMTPInboundFramer.Frame] = []
        while let frame = framer.next() {
            if case .data = frame { continue }
            events.append(frame)
        }
        #expect(events == [.bareLineEndingInChunk, .endOfChunk, .command(Array("NOOP".utf8))])
    }

    @Test func anEmptyLastChunkEndsAtOnce() {
        var framer = SMTPInboundFramer()
        framer.beginChunk(size: 0, newMessage: false)
        #expect(framer.next() == .endOfChunk)
        #expect(framer.mode == .command)
    }
}
