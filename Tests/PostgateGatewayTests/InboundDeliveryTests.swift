import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateMessage
import PostgateSMTP
import PostgateStore
import Testing
@testable import PostgateGateway

/// The MX delegate's recipient check on a real store, event loop and thread pool.
@Suite struct InboundDeliveryTests {
    final class Fixture: @unchecked Sendable {
        let root: String
        let store: MailStore
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 2)
        let loop: any EventLoop
        let delivery: InboundDelivery
        let transaction: SMTPTransaction

        init() throws {
            root = NSTemporaryDirectory() + "/postgate-inbound-" + UUID().uuidString
            store = try MailStore.open(directory: root)
            try store.addDomain(DomainName("acme.test"))
            try store.addAddress(EmailAddress("support@acme.test"))
            pool.start()
            loop = group.next()
            delivery = InboundDelivery(store: store, threadPool: pool, hostname: "mx.test", logger: Logger(label: "test"))
            transaction = SMTPTransaction(sender: .mailbox(try EmailAddress("jane@example.test")), parameters: MailParameters(),
                                          session: SMTPSessionInfo(remoteAddress: "192.0.2.9"))
        }

        deinit {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: root)
        }

        func verify(_ recipient: String) async throws -> RecipientVerdict {
            try await delivery.verifyRecipient(EmailAddress(recipient), in: transaction, eventLoop: loop).get()
        }
    }

    @Test func recipientsAreJudged() async throws {
        let f = try Fixture()
        #expect(try await f.verify("support@acme.test") == .accept)
        #expect(try await f.verify("nobody@acme.test") == .reject(SMTPReply(550, "5.1.1", "<nobody@acme.test>: no such user here")))
        #expect(try await f.verify("jane@example.test")
            == .reject(SMTPReply(550, "5.7.1", "Relaying denied: example.test is not hosted here")))
    }

    /// A recipient already in the directory cache is still answered from the thread pool:
    /// knowing that the cache is current reads a file (the generation hint), which no event
    /// loop may do. Were it answered on the loop, the future would be complete on return.
    @Test func aCachedRecipientIsLookedUpOffTheEventLoop() async throws {
        let f = try Fixture()
        let support = try EmailAddress("support@acme.test")
        #expect(try await f.verify("support@acme.test") == .accept)
        let (answeredAtOnce, answer) = try await f.loop.submit {
            let answer = f.delivery.verifyRecipient(support, in: f.transaction, eventLoop: f.loop)
            var completed = false
            answer.assumeIsolated().whenComplete { _ in completed = true }
            return (completed, answer)
        }.get()
        #expect(!answeredAtOnce)
        #expect(try await answer.get() == .accept)
    }
}
