import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
import PostgateMessage
import Testing
@testable import PostgateSMTP

/// The handler of a submission listener through two `EmbeddedChannel`s, the server's and a
/// client's, with a real TLS handshake between them (bytes shuttled in memory): STARTTLS,
/// AUTH and the sender check, as a mail client meets them.
@Suite struct SMTPSubmissionHandlerTests {
    final class SubmissionDelegate: SMTPServerDelegate, @unchecked Sendable {
        var checked: [SASLCredentials] = []
        var writers: [SMTPServerHandlerTests.MemoryWriter] = []
        var transactions: [SMTPTransaction] = []

        func verifyRecipient(_ recipient: EmailAddress, in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<RecipientVerdict> {
            eventLoop.makeSucceededFuture(.accept)
        }

        func openMessage(for transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<any SMTPMessageWriter> {
            let writer = SMTPServerHandlerTests.MemoryWriter(eventLoop: eventLoop)
            writers.append(writer)
            transactions.append(transaction)
            return eventLoop.makeSucceededFuture(writer)
        }

        func authenticate(_ credentials: SASLCredentials, session: SMTPSessionInfo, eventLoop: any EventLoop) -> EventLoopFuture<AuthenticationVerdict> {
            checked.append(credentials)
            let right = credentials == SASLCredentials(user: "ana", password: "pw")
            return eventLoop.makeSucceededFuture(right ? .accepted(user: "ana") : .rejected(SMTPReply(535, "5.7.8", "Authentication credentials invalid")))
        }

        func verifySender(in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<SenderVerdict> {
            let allowed = transaction.sender.description == "support@acme.test" && transaction.session.authenticatedUser == "ana"
            return eventLoop.makeSucceededFuture(allowed ? .accept : .reject(SMTPReply(550, "5.7.1", "may not send as \(transaction.sender)")))
        }
    }

    /// A submission server and a client, connected in memory.
    struct Pair {
        let server = EmbeddedChannel()
        let client = EmbeddedChannel()
        let delegate = SubmissionDelegate()

        /// - Parameter implicitTLS: the server speaks TLS from the first byte (RFC 8314).
        init(implicitTLS: Bool = false) throws {
            let tls = try SMTPServerHandlerTests.Harness.serverTLSContext()
            var session = SMTPSessionInfo(remoteAddress: "192.0.2.7")
            session.tlsActive = implicitTLS
            if implicitTLS { try server.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
            try server.pipeline.syncOperations.addHandler(SMTPServerHandler(
                configuration: SMTPServerConfiguration(mode: .submission, hostname: "submit.test"), delegate: delegate,
                tlsContext: implicitTLS ? nil : tls, session: session))
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 25)).wait()
            try server.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 4000)).wait()
            if implicitTLS { try startClientTLS() }
            try pump()
        }

        /// Puts TLS on the client side and runs the handshake.
        func startClientTLS() throws {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            let handler = try NIOSSLClientHandler(context: NIOSSLContext(configuration: configuration), serverHostname: nil)
            try client.pipeline.syncOperations.addHandler(handler)
            try pump()
        }

        /// Moves bytes both ways until neither side has anything more to say.
        func pump() throws {
            var moved = true
            while moved {
                moved = false
                while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                    try client.writeInbound(bytes)
                    moved = true
                }
                while let bytes = try client.readOutbound(as: ByteBuffer.self) {
                    try server.writeInbound(bytes)
                    moved = true
                }
            }
        }

        func send(_ text: String) throws {
            try client.writeOutbound(ByteBuffer(string: text))
            try pump()
        }

        /// The reply lines the client has received since the last call, in clear.
        func replies() throws -> [String] {
            try SMTPServerHandlerTests.Harness.lines { try client.readInbound(as: ByteBuffer.self) }
        }

        /// The last line of every reply received since the last call.
        func finalLines() throws -> [String] {
            try SMTPServerHandlerTests.Harness.finalLines(replies())
        }
    }

    @Test func startTLSThenAuthThenSend() throws {
        let pair = try Pair()
        #expect(try pair.finalLines() == ["220 submit.test ESMTP Postgate ready"])
        try pair.send("EHLO laptop.test\r\n")
        let clear = try pair.replies()
        #expect(clear.contains("250 STARTTLS") && !clear.contains { $0.contains("AUTH") })
        try pair.send("AUTH PLAIN AGFuYQBwdw==\r\nMAIL FROM:<support@acme.test>\r\n")
        #expect(try pair.finalLines() == ["530 5.7.0 Must issue a STARTTLS command first", "530 5.7.0 Must issue a STARTTLS command first"])
        #expect(pair.delegate.checked.isEmpty)  // no password was looked at in clear text

        try pair.send("STARTTLS\r\n")
        #expect(try pair.finalLines() == ["220 2.0.0 Ready to start TLS"])
        try pair.startClientTLS()
        try pair.send("EHLO laptop.test\r\n")
        let protected = try pair.replies()
        #expect(protected.contains("250 AUTH PLAIN LOGIN") && !protected.contains { $0.contains("STARTTLS") })

        try pair.send("MAIL FROM:<support@acme.test>\r\nAUTH PLAIN AGFuYQB3cm9uZw==\r\nAUTH LOGIN\r\n")
        #expect(try pair.finalLines() == ["530 5.7.0 Authentication required", "535 5.7.8 Authentication credentials invalid", "334 VXNlcm5hbWU6"])
        try pair.send("YW5h\r\n")
        #expect(try pair.finalLines() == ["334 UGFzc3dvcmQ6"])
        try pair.send("cHc=\r\n")
        #expect(try pair.finalLines() == ["235 2.7.0 Authentication successful"])
        #expect(pair.delegate.checked == [SASLCredentials(user: "ana", password: "wrong"), SASLCredentials(user: "ana", password: "pw")])

        try pair.send("MAIL FROM:<other@acme.test>\r\nMAIL FROM:<support@acme.test>\r\nRCPT TO:<jane@example.test>\r\nDATA\r\n")
        #expect(try pair.finalLines() == ["550 5.7.1 may not send as other@acme.test", "250 2.1.0 Sender ok", "250 2.1.5 Recipient ok", "354 End data with <CR><LF>.<CR><LF>"])
        try pair.send("Subject: re\r\n\r\nhello\r\n.\r\n")
        #expect(try pair.finalLines() == ["250 2.0.0 Ok: queued as Q1"])
        #expect(pair.delegate.transactions.first?.session.authenticatedUser == "ana")
        #expect(pair.delegate.transactions.first?.session.protocolName == "ESMTPSA")
    }

    /// Commands pipelined after STARTTLS (an AUTH here) are dropped, never run inside TLS
    /// (CVE-2011-0411 class): after the handshake the client is not authenticated.
    @Test func authPipelinedAfterStartTLSIsDiscarded() throws {
        let pair = try Pair()
        try pair.send("EHLO laptop.test\r\n")
        _ = try pair.replies()
        try pair.send("STARTTLS\r\nAUTH PLAIN AGFuYQBwdw==\r\n")
        #expect(try pair.finalLines() == ["220 2.0.0 Ready to start TLS"])
        try pair.startClientTLS()
        try pair.send("EHLO laptop.test\r\nMAIL FROM:<support@acme.test>\r\n")
        #expect(try pair.finalLines() == ["250 AUTH PLAIN LOGIN", "530 5.7.0 Authentication required"])
        #expect(pair.delegate.checked.isEmpty)
    }

    /// RFC 4954 section 4: AUTH lines up to 12288 octets; longer ones are refused whole.
    @Test func longAuthLinesUpTo12288Octets() throws {
        let pair = try Pair(implicitTLS: true)
        _ = try pair.replies()
        try pair.send("EHLO laptop.test\r\n")
        _ = try pair.replies()
        let long = String(repeating: "p", count: 6000)
        let plain = Data("\0ana\0\(long)".utf8).base64EncodedString()
        try pair.send("AUTH PLAIN \(plain)\r\n")
        #expect(try pair.finalLines() == ["535 5.7.8 Authentication credentials invalid"])
        #expect(pair.delegate.checked == [SASLCredentials(user: "ana", password: long)])
        try pair.send("AUTH PLAIN " + String(repeating: "A", count: 12_300) + "\r\nNOOP\r\n")
        #expect(try pair.finalLines() == ["500 5.5.2 Line too long (limit 12288 octets)", "250 2.0.0 Ok"])
    }

    @Test func implicitTLSOffersAuthAtOnce() throws {
        let pair = try Pair(implicitTLS: true)
        #expect(try pair.finalLines() == ["220 submit.test ESMTP Postgate ready"])
        try pair.send("EHLO laptop.test\r\n")
        let lines = try pair.replies()
        #expect(lines.contains("250 AUTH PLAIN LOGIN") && !lines.contains { $0.contains("STARTTLS") })
        try pair.send("AUTH PLAIN\r\n")
        #expect(try pair.finalLines() == ["334 "])
        try pair.send("AGFuYQBwdw==\r\nSTARTTLS\r\n")
        #expect(try pair.finalLines() == ["235 2.7.0 Authentication successful", "502 5.5.1 STARTTLS is not offered here"])
    }
}
