#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import NIOPosix
import PostgateListener
import PostgateStore
import Synchronization
import Testing
@testable import PostgateIMAP

/// APPEND over a real socket (RFC 9051 section 6.3.12): the message streams to a spool
/// file as it arrives, so the session holds a bounded part of it whatever its size; a
/// message refused for its size leaves nothing behind and the session goes on.
@Suite struct IMAPAppendStreamingTests {
    /// Octets of client input a session may hold at once: a few spool-file pieces and
    /// socket reads, far below the messages sent here.
    static let heldBound = 2 << 20

    @Test func aLargeAppendStreamsToItsSpoolFileAndIsStoredByteExact() throws {
        let fixture = try IMAPStoreFixture()
        let server = try IMAPLoopbackServer(fixture, maxLiteralSize: 40 << 20)
        defer { server.stop() }
        let client = try IMAPLineClient(port: server.port)
        defer { client.close() }
        try client.login()

        var message = Array("From: carol@example.com\r\nSubject: big\r\n\r\n".utf8)
        for index in 0..<500_000 {
            message += "\(index) the quick brown fox jumps over the lazy dog\r\n".utf8
        }
        #expect(message.count > 10 * Self.heldBound)
        try client.send("a APPEND INBOX (\\Seen) {\(message.count)}\r\n")
        #expect(try client.readLine().hasPrefix("+ "))
        try client.send(message)
        try client.send("\r\n")
        let reply = try client.readUntilTagged("a")
        #expect(reply.contains("a OK [APPENDUID "), "\(reply)")

        let peak = try server.peakBufferedBytes()
        #expect(peak > 0 && peak <= Self.heldBound, "held at most \(peak) octets of a \(message.count)-octet message")

        let inbox = try #require(try fixture.store.visibleMailboxes(agent: fixture.agent).first { $0.name == "INBOX" })
        let stored = try fixture.store.details(in: inbox, uids: 1...1)
        #expect(stored.count == 1)
        #expect(try stored.first.flatMap { try fixture.store.content(of: $0, in: inbox) } == message)
        #expect(try server.spoolFiles().isEmpty)
    }

    @Test func anAppendRefusedForSizeLeavesNothingAndTheSessionGoesOn() throws {
        let fixture = try IMAPStoreFixture()
        let server = try IMAPLoopbackServer(fixture, maxLiteralSize: 1 << 20)
        defer { server.stop() }
        let client = try IMAPLineClient(port: server.port)
        defer { client.close() }
        let greeting = try client.login()
        #expect(greeting.contains("APPENDLIMIT=\(1 << 20)"), "RFC 7889: the limit is advertised: \(greeting)")

        // Synchronizing: refused instead of the continuation request; nothing is sent.
        try client.send("a APPEND INBOX {\((1 << 20) + 1)}\r\n")
        #expect(try client.readLine() == "a NO [TOOBIG] Message larger than APPENDLIMIT \(1 << 20)")

        // Non-synchronizing (RFC 7888): the octets come anyway and are dropped.
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 5 << 20)
        try client.send("b APPEND INBOX {\(big.count)+}\r\n")
        try client.send(big)
        try client.send("\r\nc NOOP\r\n")
        #expect(try client.readUntilTagged("b").hasPrefix("b NO [TOOBIG]"))
        #expect(try client.readUntilTagged("c") == "c OK NOOP completed")
        #expect(try server.peakBufferedBytes() <= Self.heldBound)

        // Streamed, then refused when it runs: its spool file goes.
        let small = Array("Subject: hi\r\n\r\nhello\r\n".utf8)
        try client.send("d APPEND Nowhere {\(small.count)+}\r\n")
        try client.send(small)
        try client.send("\r\n")
        #expect(try client.readUntilTagged("d").hasPrefix("d NO [TRYCREATE]"))

        // The session goes on, and an APPEND within the limit is stored.
        try client.send("e APPEND INBOX {\(small.count)+}\r\n")
        try client.send(small)
        try client.send("\r\n")
        #expect(try client.readUntilTagged("e").contains("e OK [APPENDUID "))

        let inbox = try #require(try fixture.store.visibleMailboxes(agent: fixture.agent).first { $0.name == "INBOX" })
        #expect(try fixture.store.snapshot(inbox, agent: fixture.agent).messages.count == 1)
        #expect(try server.spoolFiles().isEmpty)
        let maildir = fixture.root + "/data/" + inbox.path
        #expect(try FileManager.default.contentsOfDirectory(atPath: maildir + "/tmp").isEmpty)
    }

    /// A command that turns out bad after its message was streamed drops it; an APPEND
    /// sent right behind it streams and is stored as usual.
    @Test func aBadAppendDropsItsMessageAndTheNextOneIsStored() throws {
        let fixture = try IMAPStoreFixture()
        let server = try IMAPLoopbackServer(fixture, maxLiteralSize: 4 << 20)
        defer { server.stop() }
        let client = try IMAPLineClient(port: server.port)
        defer { client.close() }
        try client.login()
        let message = Array("Subject: pieces\r\n\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "y"), count: 3 * IMAPServerHandler.uploadChunkSize)
        try client.send(Array("a APPEND INBOX {\(message.count)+}\r\n".utf8) + message + Array(" EXTRA\r\n".utf8)
                        + Array("b APPEND INBOX {\(message.count)+}\r\n".utf8) + message + Array("\r\n".utf8))
        #expect(try client.readUntilTagged("a").hasPrefix("a BAD "))
        #expect(try client.readUntilTagged("b").contains("b OK [APPENDUID "))
        let inbox = try #require(try fixture.store.visibleMailboxes(agent: fixture.agent).first { $0.name == "INBOX" })
        let stored = try fixture.store.details(in: inbox, uids: 1...2)
        #expect(stored.map(\.uid) == [1])
        #expect(try stored.first.flatMap { try fixture.store.content(of: $0, in: inbox) } == message)
        #expect(try server.spoolFiles().isEmpty)
    }
}

/// An IMAP server on 127.0.0.1 with the real handler over `fixture`'s store.
final class IMAPLoopbackServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let pool: NIOThreadPool
    let channel: any Channel
    let accepted: AcceptedChannels
    let root: String

    final class AcceptedChannels: Sendable {
        let channels = Mutex<[any Channel]>([])
    }

    init(_ fixture: IMAPStoreFixture, maxLiteralSize: Int) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // One thread: work runs in the order it was handed over, so a dropped message's
        // spool file is gone before a later command's reply.
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        root = fixture.root
        let accepted = AcceptedChannels()
        self.accepted = accepted
        let configuration = IMAPServerConfiguration(hostname: "imap.test", maxLiteralSize: maxLiteralSize, allowPlaintextAuth: true)
        let store = fixture.store
        let pool = self.pool
        channel = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                accepted.channels.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IMAPServerHandler(
                        configuration: configuration, store: store, threadPool: pool, tlsContext: nil, implicitTLS: false,
                        throttle: LoginThrottle(), clientIP: "127.0.0.1"))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    var port: Int { channel.localAddress?.port ?? 0 }

    /// The most octets of client input the (one) session held at once.
    func peakBufferedBytes() throws -> Int {
        let session = try #require(accepted.channels.withLock { $0.first })
        return try session.eventLoop.submit {
            try session.pipeline.syncOperations.handler(type: IMAPServerHandler.self).peakBufferedBytes
        }.wait()
    }

    func spoolFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root + "/data/spool")
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
        try? pool.syncShutdownGracefully()
    }
}

/// A blocking IMAP client over one TCP connection: sends bytes, reads CRLF lines.
final class IMAPLineClient {
    private let socket: Int32
    private var received: [UInt8] = []

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    /// Reads the greeting and logs in; returns the greeting.
    @discardableResult
    func login() throws -> String {
        let greeting = try readLine()
        try send("l LOGIN alice \"correct horse\"\r\n")
        let reply = try readUntilTagged("l")
        guard reply.hasPrefix("l OK") else { throw POSIXError(.EACCES) }
        return greeting
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw POSIXError(.EPIPE) }
            offset += sent
        }
    }

    /// The next line, without its CRLF.
    func readLine() throws -> String {
        while true {
            if let end = received.firstIndex(of: UInt8(ascii: "\n")) {
                let line = received[..<end]
                received.removeSubrange(...end)
                return String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw POSIXError(.ECONNRESET) }
            received += chunk.prefix(count)
        }
    }

    /// Lines up to the tagged reply for `tag`; returns that reply.
    func readUntilTagged(_ tag: String) throws -> String {
        while true {
            let line = try readLine()
            if line.hasPrefix(tag + " ") { return line }
        }
    }

    func close() {
        Glibc.close(socket)
    }
}
