import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateListener
import PostgateMessage
import PostgateSMTP
import PostgateOutbound
import PostgateStore
import Testing
@testable import PostgateGateway

/// The submission delegate on a real store in a temporary data directory: scrypt-checked
/// passwords with the per-IP lockout, the sender check, and a message larger than the
/// in-memory threshold spooled to disk and queued.
@Suite struct SubmissionDeliveryTests {
    final class Fixture: @unchecked Sendable {
        let root: String
        let store: MailStore
        let queue: OutboundQueue
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 2)
        let delivery: SubmissionDelivery

        init() throws {
            root = NSTemporaryDirectory() + "/postgate-submission-" + UUID().uuidString
            store = try MailStore.open(directory: root)
            queue = try OutboundQueue.open(directory: root)
            try store.addDomain(DomainName("acme.test"))
            try store.addAddress(EmailAddress("support@acme.test"))
            try store.addAddress(EmailAddress("sales@acme.test"))
            _ = try store.addAgent("ana", password: "correct horse")
            _ = try store.grant(agent: "ana", address: EmailAddress("support@acme.test"))
            pool.start()
            delivery = SubmissionDelivery(
                submission: ReplySubmission(store: store, queue: queue, configuration: GatewayConfiguration()), threadPool: pool,
                throttle: LoginThrottle(maxFailuresPerAddress: 2, lockoutSeconds: 300), failedLoginDelay: .milliseconds(10),
                logger: Logger(label: "test"))
        }

        deinit {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: root)
        }

        var loop: any EventLoop { group.next() }

        func authenticate(_ user: String, _ password: String, from ip: String = "192.0.2.9") async throws -> AuthenticationVerdict {
            try await delivery.authenticate(SASLCredentials(user: user, password: password), session: SMTPSessionInfo(remoteAddress: ip),
                                            eventLoop: loop).get()
        }

        func transaction(from sender: String, agent: String? = "ana", to recipients: [String] = []) throws -> SMTPTransaction {
            var session = SMTPSessionInfo(remoteAddress: "192.0.2.9")
            session.authenticatedUser = agent
            var transaction = SMTPTransaction(sender: .mailbox(try EmailAddress(sender)), parameters: MailParameters(), session: session)
            transaction.recipients = try recipients.map { try EmailAddress($0) }
            return transaction
        }
    }

    @Test func passwordsAreCheckedAndFailuresLockTheAddressOut() async throws {
        let f = try Fixture()
        #expect(try await f.authenticate("ANA", "correct horse") == .accepted(user: "ana"))
        let refused = AuthenticationVerdict.rejected(SMTPReply(535, "5.7.8", "Authentication credentials invalid"))
        #expect(try await f.authenticate("ana", "wrong") == refused)
        #expect(try await f.authenticate("nobody", "wrong") == refused)
        // Two failures from this address: now even the right password is refused for a while.
        guard case .rejected(let lockout) = try await f.authenticate("ana", "correct horse") else {
            Issue.record("not locked out")
            return
        }
        #expect(lockout.code == 454 && lockout.enhancedCode == "4.7.0")
        #expect(try await f.authenticate("ana", "correct horse", from: "192.0.2.10") == .accepted(user: "ana"))
    }

    @Test func theAgentMaySendOnlyAsItsAddresses() async throws {
        let f = try Fixture()
        #expect(try await f.delivery.verifySender(in: f.transaction(from: "support@acme.test"), eventLoop: f.loop).get() == .accept)
        let other = try await f.delivery.verifySender(in: f.transaction(from: "sales@acme.test"), eventLoop: f.loop).get()
        #expect(other == .reject(SMTPReply(550, "5.7.1", "agent ana may not send as sales@acme.test")))
        let stranger = try await f.delivery.verifySender(in: f.transaction(from: "jane@example.test"), eventLoop: f.loop).get()
        #expect(stranger == .reject(SMTPReply(550, "5.7.1", "jane@example.test is not a channel address that sends replies")))
    }

    @Test func largeMessageIsSpooledThenQueued() async throws {
        let f = try Fixture()
        let transaction = try f.transaction(from: "support@acme.test", to: ["jane@example.test"])
        let writer = try await f.delivery.openMessage(for: transaction, eventLoop: f.loop).get()
        let line = String(repeating: "x", count: 998) + "\r\n"
        var spooled = false
        try await f.loop.submit {
            _ = writer.write(ByteBuffer(string: "To: jane@example.test\r\nSubject: Re: big\r\n\r\n"))
        }.get()
        for _ in 0..<400 {  // 400 KB: past the 256 KiB kept in memory
            if let backpressure = try await f.loop.submit({ writer.write(ByteBuffer(string: line)) }).get() {
                try await backpressure.get()
                spooled = true
            }
        }
        #expect(spooled)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.root + "/spool").count == 1)
        let id = try await f.loop.flatSubmit { writer.commit(header: MessageHeader.parse(Array("Subject: Re: big\r\n\r\n".utf8))) }.get()
        let record = try #require(try f.queue.messages().first { String($0.id) == id })
        #expect(record.sender == "support@acme.test" && record.size > 400_000)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.root + "/spool").isEmpty)
    }
}
