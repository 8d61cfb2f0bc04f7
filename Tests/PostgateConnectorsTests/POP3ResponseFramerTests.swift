import NIOCore
import Testing
@testable import PostgateConnectors

/// Framing of POP3 responses: status lines, multi-line responses, streamed messages.
@Suite struct POP3ResponseFramerTests {
    /// Feeds `pieces` one read at a time and collects every event.
    private func events(_ framer: inout POP3ResponseFramer, _ pieces: [String]) throws -> [POP3ResponseEvent] {
        var buffer = ByteBuffer()
        var result: [POP3ResponseEvent] = []
        for piece in pieces {
            buffer.writeString(piece)
            while let event = try framer.next(&buffer) { result.append(event) }
        }
        return result
    }

    /// The message bytes of `events` joined, and whether it ended.
    private func message(_ events: [POP3ResponseEvent]) -> (String, ended: Bool) {
        var text = ""
        var ended = false
        for event in events {
            if case .messageChunk(let chunk) = event { text += String(buffer: chunk) }
            if event == .messageEnd { ended = true }
        }
        return (text, ended)
    }

    @Test func greetingAndSingleLineResponses() throws {
        var framer = POP3ResponseFramer()
        framer.expect(.singleLine)
        framer.expect(.singleLine)
        let result = try events(&framer, ["+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n+OK\r\n-ERR no such message\r\n"])
        #expect(result == [
            .status(.ok("POP3 ready <1896.697170952@dbc.mtview.ca.us>")), .status(.ok("")), .status(.err("no such message")),
        ])
        #expect(!framer.isAwaitingResponse)
    }

    @Test func multiLineResponseIsUnstuffedAndEndsAtTheDotLine() throws {
        var framer = POP3ResponseFramer()
        framer.expect(.multiLine)
        let lines = try events(&framer, ["+OK hi\r\n+OK 2 messages\r\n1 abc\r\n..2 x\r\n", ".", "\r", "\n"])
        #expect(lines == [.status(.ok("hi")), .lines("2 messages", ["1 abc", ".2 x"])])
    }

    @Test func errToAMultiLineCommandIsOneLine() throws {
        var framer = POP3ResponseFramer()
        framer.expect(.multiLine)
        framer.expect(.singleLine)
        let result = try events(&framer, ["+OK\r\n-ERR not supported\r\n+OK next\r\n"])
        #expect(result == [.status(.ok("")), .status(.err("not supported")), .status(.ok("next"))])
    }

    @Test func continuationOnlyWhereAUTHMayGetOne() throws {
        var framer = POP3ResponseFramer()
        framer.expect(.singleLine)
        #expect(try events(&framer, ["+OK\r\n+ eyJzdGF0dXMiOiI0MDEifQ==\r\n"]) == [.status(.ok("")), .status(.continuation("eyJzdGF0dXMiOiI0MDEifQ=="))])
        var other = POP3ResponseFramer()
        other.expect(.multiLine)
        #expect(throws: POP3Error.self) { try events(&other, ["+OK\r\n+ x\r\n"]) }
    }

    @Test func notAStatusLineIsAProtocolError() {
        var framer = POP3ResponseFramer()
        #expect(throws: POP3Error.self) { try events(&framer, ["220 smtp.example ESMTP\r\n"]) }
        var okay = POP3ResponseFramer()
        #expect(throws: POP3Error.self) { try events(&okay, ["+OKAY\r\n"]) }
    }

    @Test func unsolicitedResponseIsAProtocolError() {
        var framer = POP3ResponseFramer()
        #expect(throws: POP3Error.protocolError("unsolicited response: +OK extra")) { try events(&framer, ["+OK\r\n+OK extra\r\n"]) }
    }

    @Test func overLongLinesAreRefused() {
        var framer = POP3ResponseFramer(maxLineLength: 64)
        #expect(throws: POP3Error.self) { try events(&framer, ["+OK " + String(repeating: "x", count: 100)]) }
        var complete = POP3ResponseFramer(maxLineLength: 64)
        #expect(throws: POP3Error.self) { try events(&complete, ["+OK " + String(repeating: "x", count: 60) + "\r\n"]) }
        var inLines = POP3ResponseFramer(maxLineLength: 64)
        inLines.expect(.multiLine)
        #expect(throws: POP3Error.self) { try events(&inLines, ["+OK\r\n+OK\r\n", String(repeating: "y", count: 80), "\r\n.\r\n"]) }
    }

    @Test func multiLineResponseTotalIsBounded() {
        var framer = POP3ResponseFramer(maxResponseBytes: 100)
        framer.expect(.multiLine)
        let lines = (1...20).map { "\($0) uid\($0)\r\n" }.joined()
        #expect(throws: POP3Error.protocolError("multi-line response larger than 100 octets")) { try events(&framer, ["+OK\r\n+OK\r\n" + lines + ".\r\n"]) }
    }

    @Test func messageIsStreamedUnstuffedWithCRLFsKept() throws {
        var framer = POP3ResponseFramer()
        framer.expect(.message)
        let result = try events(&framer, ["+OK\r\n+OK 40 octets\r\nSubject: a\r\n\r\n..leading dot\r\n...\r\nend\r\n.\r\n"])
        #expect(result.first == .status(.ok("")))
        #expect(result[1] == .messageStart("40 octets"))
        let (text, ended) = message(result)
        #expect(text == "Subject: a\r\n\r\n.leading dot\r\n..\r\nend\r\n")
        #expect(ended)
        #expect(!framer.isAwaitingResponse)
    }

    @Test func terminatorSplitAcrossReadsInEveryPlace() throws {
        let wire = "+OK\r\n+OK\r\nline one\r\n..dot\r\nlast\r\n.\r\n"
        let expected = "line one\r\n.dot\r\nlast\r\n"
        let bytes = Array(wire.utf8)
        for split in 1..<bytes.count {
            for second in split..<bytes.count {
                var framer = POP3ResponseFramer()
                framer.expect(.message)
                let pieces = [bytes[..<split], bytes[split..<second], bytes[second...]].map { String(decoding: $0, as: UTF8.self) }
                let (text, ended) = message(try events(&framer, pieces))
                #expect(text == expected, "split at \(split), \(second)")
                #expect(ended, "split at \(split), \(second)")
            }
        }
    }

    @Test func aDotLineThatIsNotTheEndInsideAChunkBoundary() throws {
        // A chunk limit falls inside a line; the dot after the next line end is still found.
        var framer = POP3ResponseFramer(maxChunkSize: 4)
        framer.expect(.message)
        let (text, ended) = message(try events(&framer, ["+OK\r\n+OK\r\nabcdefgh\r\n..x\r\n.\r\n"]))
        #expect(text == "abcdefgh\r\n.x\r\n")
        #expect(ended)
    }

    @Test func messageChunksAreBoundedAndNotPerLine() throws {
        var framer = POP3ResponseFramer(maxChunkSize: 1000)
        framer.expect(.message)
        let body = String(repeating: "0123456789012345678901234567890123456789\r\n", count: 100)
        let result = try events(&framer, ["+OK\r\n+OK\r\n" + body + ".\r\n"])
        let chunks = result.compactMap { if case .messageChunk(let chunk) = $0 { chunk.readableBytes } else { nil } }
        #expect(chunks.allSatisfy { $0 <= 1000 })
        #expect(chunks.count == 5)
        #expect(chunks.reduce(0, +) == body.utf8.count)
    }

    @Test func messageErrIsOneLine() throws {
        var framer = POP3ResponseFramer()
        framer.expect(.message)
        framer.expect(.singleLine)
        #expect(try events(&framer, ["+OK\r\n-ERR no such message\r\n+OK\r\n"]) == [.status(.ok("")), .status(.err("no such message")), .status(.ok(""))])
    }

    @Test func bytesAfterSTLSAreDiscardedUntilTLS() throws {
        var framer = POP3ResponseFramer()
        framer.expect(.startTLS)
        framer.expect(.multiLine)
        // A server (or an attacker on the path) injects a response after the +OK.
        var buffer = ByteBuffer(string: "+OK\r\n+OK begin TLS\r\n+OK\r\nSASL PLAIN\r\n.\r\n")
        #expect(try framer.next(&buffer) == .status(.ok("")))
        #expect(try framer.next(&buffer) == .status(.ok("begin TLS")))
        #expect(try framer.next(&buffer) == nil)
        #expect(buffer.readableBytes == 0)
        #expect(framer.discardingUntilTLS)
        buffer.writeString("+OK injected\r\n")
        #expect(try framer.next(&buffer) == nil)
        framer.tlsEstablished()
        buffer.writeString("+OK\r\nSTLS\r\n.\r\n")
        #expect(try framer.next(&buffer) == .lines("", ["STLS"]))
    }
}
