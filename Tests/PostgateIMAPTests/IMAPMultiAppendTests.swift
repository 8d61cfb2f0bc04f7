import Foundation
import NIOCore
import PostgateStore
import Testing
@testable import PostgateIMAP

/// MULTIAPPEND (RFC 3502): several messages in one APPEND, stored all or none.
@Suite struct IMAPMultiAppendTests {
    /// RFC 3502 section 6.3.11's form: each message with its own flags and date, each
    /// streamed to a spool file of its own by the frame decoder.
    @Test func severalMessagesAreParsedEachWithItsFlagsAndDate() throws {
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: "a APPEND INBOX (\\Seen) {2+}\r\nhi (\\Flagged) \"17-Jul-1996 02:44:25 -0700\" {3+}\r\nabc {1+}\r\nx\r\n"))
        var streamed: [String] = []
        var frame: IMAPFrameDecoder.Frame?
        while frame == nil, let event = decoder.next() {
            switch event {
            case .messageLiteral:
                decoder.streamMessageLiteral()
                streamed.append("")
            case .messageData(let bytes): streamed[streamed.count - 1] += String(buffer: bytes)
            case .frame(let whole): frame = whole
            default: Issue.record("unexpected \(event)")
            }
        }
        #expect(streamed == ["hi", "abc", "x"])
        let command = try IMAPCommandParser.parse(try #require(frame)).get().command
        #expect(command == .append(mailbox: "INBOX", messages: [
            IMAPAppendMessage(flags: ["\\Seen"], size: 2),
            IMAPAppendMessage(flags: ["\\Flagged"], date: Date(timeIntervalSince1970: 837_596_665), size: 3),
            IMAPAppendMessage(size: 1),
        ]))
    }

    /// RFC 3502 section 6.3.11 over a socket: two synchronizing literals (each with its
    /// continuation request), the second larger than a spool-file piece; both stored byte
    /// exact, UIDs in APPENDUID in order (RFC 4315 section 3).
    @Test func messagesAreStoredInOrderWithTheirUIDs() throws {
        let connection = try Connection(maxLiteralSize: 4 << 20)
        defer { connection.close() }
        let (fixture, server, client) = (connection.fixture, connection.server, connection.client)
        #expect(connection.greeting.contains(" MULTIAPPEND "))
        let first = Array("Subject: first\r\n\r\none\r\n".utf8)
        let second = Array("Subject: second\r\n\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "z"), count: 3 * IMAPServerHandler.uploadChunkSize)
        try client.send("a APPEND INBOX (\\Seen) {\(first.count)}\r\n")
        #expect(try client.readLine().hasPrefix("+ "))
        try client.send(first)
        try client.send(" (\\Flagged) {\(second.count)}\r\n")
        #expect(try client.readLine().hasPrefix("+ "))
        try client.send(second)
        try client.send("\r\n")
        let reply = try client.readUntilTagged("a")
        #expect(reply.range(of: #"a OK \[APPENDUID \d+ 1:2\] APPEND completed"#, options: .regularExpression) != nil, "\(reply)")

        let inbox = try #require(try fixture.store.visibleMailboxes(agent: fixture.agent).first { $0.name == "INBOX" })
        let stored = try fixture.store.details(in: inbox, uids: 1...2)
        #expect(stored.map(\.uid) == [1, 2])
        #expect(try stored.map { try fixture.store.content(of: $0, in: inbox) } == [first, second])
        #expect(stored.map { $0.flags.isSeen } == [true, false])
        #expect(stored.map { $0.flags.imapNames.contains("\\Flagged") } == [false, true])
        #expect(try server.spoolFiles().isEmpty)
    }

    /// A message refused for its size (RFC 7889) refuses the whole command: the messages
    /// before it are dropped too, and the session goes on.
    @Test func aRefusedMessageRefusesThemAll() throws {
        let connection = try Connection(maxLiteralSize: 1 << 20)
        defer { connection.close() }
        let (server, client) = (connection.server, connection.client)
        let small = Array("Subject: hi\r\n\r\nhello\r\n".utf8)
        try client.send(Array("a APPEND INBOX {\(small.count)+}\r\n".utf8) + small + Array(" {\((1 << 20) + 1)}\r\n".utf8))
        #expect(try client.readUntilTagged("a") == "a NO [TOOBIG] Message larger than APPENDLIMIT \(1 << 20)")
        try client.send("b NOOP\r\n")
        #expect(try client.readUntilTagged("b") == "b OK NOOP completed")
        #expect(try connection.inboxCount() == 0)
        #expect(try server.spoolFiles().isEmpty)
    }

    /// At most 64 messages in one APPEND: the 65th is refused as a literal too many, the
    /// 64 received are dropped, and the next APPEND stores only its own message.
    @Test func aCommandWithTooManyMessagesIsRefusedAndLeavesNothing() throws {
        let connection = try Connection(maxLiteralSize: 1 << 20)
        defer { connection.close() }
        let client = connection.client
        let small = Array("Subject: hi\r\n\r\nhello\r\n".utf8)
        var command = Array("a APPEND INBOX".utf8)
        for _ in 1...IMAPFrameDecoder.defaultMaxLiterals { command += Array(" {\(small.count)+}\r\n".utf8) + small }
        try client.send(command + Array(" {\(small.count)}\r\n".utf8))
        #expect(try client.readUntilTagged("a").hasPrefix("a NO [TOOBIG]"))
        try client.send(Array("b APPEND INBOX {\(small.count)+}\r\n".utf8) + small + Array("\r\n".utf8))
        let reply = try client.readUntilTagged("b")
        #expect(reply.range(of: #"^b OK \[APPENDUID \d+ 1\] "#, options: .regularExpression) != nil, "\(reply)")
        #expect(try connection.inboxCount() == 1)
    }

    /// All or none (RFC 3502 section 6.3.11): when storing the second message fails, the
    /// first is taken back, the third never stored, and no spool file is left.
    @Test func aFailureToStoreOneStoresNone() {
        let store = InMemoryIMAPStore()
        store.with { $0.appendsBeforeFailure = 1 }
        var session = IMAPTestSession(executor: IMAPCommandExecutor(store: store), context: IMAPSessionContext(agent: store.agent, selected: nil))
        let reply = session.run("a APPEND INBOX {7+}\r\nSubj: 1 {7+}\r\nSubj: 2 {7+}\r\nSubj: 3")
        #expect(reply.hasPrefix("a NO [SERVERBUG]"), "\(reply)")
        #expect(store.messages().isEmpty)
        #expect(store.with { $0.messagesBegun == $0.messagesAborted + 1 }, "the first was stored, then expunged; the others dropped")
        store.with { $0.appendsBeforeFailure = nil }
        let stored = session.run("b APPEND INBOX {7+}\r\nSubj: 1 {7+}\r\nSubj: 2")
        #expect(stored.hasPrefix("b OK [APPENDUID ") && stored.contains(" 2:3] "), "UIDs are not handed out twice: \(stored)")
        #expect(store.messages().map(\.summary.uid) == [2, 3])
        // An empty message among them refuses them all.
        #expect(session.run("c APPEND INBOX {7+}\r\nSubj: 4 {0+}\r\n").hasPrefix("c NO Empty message"))
        #expect(store.messages().count == 2)
    }
}

/// A store, the real handler over it on a loopback port, and a client logged in to it.
private final class Connection {
    let fixture: IMAPStoreFixture
    let server: IMAPLoopbackServer
    let client: IMAPLineClient
    let greeting: String

    init(maxLiteralSize: Int) throws {
        fixture = try IMAPStoreFixture()
        server = try IMAPLoopbackServer(fixture, maxLiteralSize: maxLiteralSize)
        client = try IMAPLineClient(port: server.port)
        greeting = try client.login()
    }

    func close() {
        client.close()
        server.stop()
    }

    func inboxCount() throws -> Int {
        guard let inbox = try fixture.store.visibleMailboxes(agent: fixture.agent).first(where: { $0.name == "INBOX" }) else { return -1 }
        return try fixture.store.snapshot(inbox, agent: fixture.agent).messages.count
    }
}
