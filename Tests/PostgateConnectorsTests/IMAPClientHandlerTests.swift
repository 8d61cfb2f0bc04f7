import NIOCore
import NIOEmbedded
import Testing
@testable import PostgateConnectors

/// The channel handler on an `EmbeddedChannel` with its virtual clock: the response timeout,
/// the IDLE timer, and bytes framed into events.
@Suite struct IMAPClientHandlerTests {
    private func channel(responseTimeout: TimeAmount = .seconds(10)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: IMAPClientHandler(responseTimeout: responseTimeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 993)).wait()
        return channel
    }

    private func command(_ text: String, tag: String? = nil, timing: IMAPClientCommand.Timing = .response) -> IMAPClientCommand {
        IMAPClientCommand(bytes: Array((text + "\r\n").utf8), logText: text, tag: tag, timing: timing)
    }

    private func inbound(_ channel: EmbeddedChannel) throws -> [IMAPClientEvent] {
        var events: [IMAPClientEvent] = []
        while let event = try channel.readInbound(as: IMAPClientEvent.self) { events.append(event) }
        return events
    }

    private func timedOut(_ channel: EmbeddedChannel) -> Bool {
        do {
            try channel.throwIfErrorCaught()
            return false
        } catch {
            if case .timeout = error as? IMAPClientError { return true }
            Issue.record("another error: \(error)")
            return false
        }
    }

    @Test func silentServerTimesOutButAnIdleClientDoesNot() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n"))
        #expect(try inbound(channel).count == 1)
        // No command is running: the server owes nothing, however long the caller waits.
        channel.embeddedEventLoop.advanceTime(by: .minutes(30))
        #expect(!timedOut(channel))
        try channel.writeOutbound(command("A1 NOOP", tag: "A1"))
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "A1 NOOP\r\n")
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(!timedOut(channel))
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(timedOut(channel))
        #expect(!channel.isActive, "a silent server's connection is closed")
    }

    @Test func idleStopsTheResponseClockAndFiresTheCallersTimer() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "* OK ready\r\n"))
        try channel.writeOutbound(command("A2 IDLE", tag: "A2", timing: .idle(seconds: 120)))
        _ = try inbound(channel)
        try channel.writeInbound(ByteBuffer(string: "+ idling\r\n"))
        #expect(try inbound(channel) == [.response(.continuation("idling"))])
        // Idling: the server owes no response, so the 10 seconds do not apply.
        channel.embeddedEventLoop.advanceTime(by: .seconds(119))
        #expect(!timedOut(channel))
        #expect(try inbound(channel).isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try inbound(channel) == [.idleTimerFired])
        // DONE: the server owes the tagged response again.
        try channel.writeOutbound(command("DONE"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(timedOut(channel))
    }

    @Test func doneBeforeTheTimerCancelsIt() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "* OK ready\r\n"))
        try channel.writeOutbound(command("A2 IDLE", tag: "A2", timing: .idle(seconds: 5)))
        try channel.writeInbound(ByteBuffer(string: "+ idling\r\n* 4 EXISTS\r\n"))
        try channel.writeOutbound(command("DONE"))
        try channel.writeInbound(ByteBuffer(string: "A2 OK Idle completed.\r\n"))
        _ = try inbound(channel)
        channel.embeddedEventLoop.advanceTime(by: .minutes(5))
        #expect(try inbound(channel).isEmpty, "no timer event after DONE")
        #expect(!timedOut(channel))
    }

    @Test func hostileEndlessLineClosesTheConnectionWithAClearError() throws {
        let channel = EmbeddedChannel(handler: IMAPClientHandler(framer: IMAPResponseFramer(maxResponseLength: 4096), responseTimeout: .seconds(10)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 993)).wait()
        var caught: (any Error)?
        for _ in 0..<10 {
            do {
                try channel.writeInbound(ByteBuffer(string: "* OK " + String(repeating: "x", count: 1000)))
            } catch {
                caught = error
                break
            }
        }
        if caught == nil {
            do { try channel.throwIfErrorCaught() } catch { caught = error }
        }
        guard case .protocolError(let text) = caught as? IMAPClientError else {
            Issue.record("\(String(describing: caught))")
            return
        }
        #expect(text.hasPrefix("response longer than 4096 octets without its end"))
        #expect(!channel.isActive)
    }
}
