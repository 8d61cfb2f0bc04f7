import Foundation
import NIOCore
import NIOEmbedded
import PostgateMaildir
import PostgateMessage
import PostgateSMTP
import Testing
@testable import PostgateGateway

/// Every SMTP listener's delegate answers a store failure for want of space with
/// `452 4.3.1` (RFC 3463: mail system full), whichever step met it, and leaves every other
/// failure as it is (the handler answers those `451 4.3.0`). The full-disk run on a real
/// filesystem is `tests/e2e/test_disk_full.py`.
@Suite struct InsufficientStorageRepliesTests {
    /// A writer whose every step fails with `error`.
    final class FailingWriter: SMTPMessageWriter {
        let error: StoreError
        let eventLoop: any EventLoop

        init(error: StoreError, eventLoop: any EventLoop) {
            self.error = error
            self.eventLoop = eventLoop
        }

        func write(_ chunk: ByteBuffer) -> EventLoopFuture<Void>? { eventLoop.makeFailedFuture(error) }
        func commit(header: MessageHeader) -> EventLoopFuture<String> { eventLoop.makeFailedFuture(error) }
        func abort() {}
    }

    struct FailingDelegate: SMTPServerDelegate {
        let error: StoreError

        func verifyRecipient(_ recipient: EmailAddress, in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<RecipientVerdict> {
            eventLoop.makeSucceededFuture(.accept)
        }

        func openMessage(for transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<any SMTPMessageWriter> {
            eventLoop.makeSucceededFuture(FailingWriter(error: error, eventLoop: eventLoop))
        }
    }

    static let full = StoreError.insufficientStorage(operation: "write", path: "/data/spool/x", reason: "No space left on device")
    static let other = StoreError.io(operation: "write", path: "/data/spool/x", reason: "Input/output error")

    func failures(for error: StoreError) throws -> [any Error] {
        let loop = EmbeddedEventLoop()
        let delegate = InsufficientStorageReplies(base: FailingDelegate(error: error))
        let transaction = SMTPTransaction(sender: .mailbox(try EmailAddress("jane@example.test")), parameters: MailParameters(),
                                          session: SMTPSessionInfo(remoteAddress: "192.0.2.9"))
        let writer = try delegate.openMessage(for: transaction, eventLoop: loop).wait()
        var failures: [any Error] = []
        for future in [writer.write(ByteBuffer(string: "Subject: x\r\n\r\nx\r\n"))!, writer.commit(header: MessageHeader()).map { _ in }] {
            do {
                try future.wait()
                Issue.record("a failing step succeeded")
            } catch {
                failures.append(error)
            }
        }
        #expect(failures.count == 2)
        return failures
    }

    @Test func aFullFilesystemIsAnswered452WhereverItIsMet() throws {
        for failure in try failures(for: Self.full) {
            let reply = try #require(failure as? SMTPReply)
            #expect(reply.code == 452 && reply.enhancedCode == "4.3.1" && reply.isTransient)
        }
    }

    @Test func otherStoreFailuresPassAsTheyAre() throws {
        for failure in try failures(for: Self.other) {
            #expect(failure as? StoreError == Self.other)
        }
    }

    @Test func enospcAndEdquotAreInsufficientStorage() {
        guard case .insufficientStorage = StoreError.posix("write", "/x", errno: ENOSPC) else { Issue.record("ENOSPC"); return }
        guard case .insufficientStorage = StoreError.posix("write", "/x", errno: EDQUOT) else { Issue.record("EDQUOT"); return }
        guard case .io = StoreError.posix("write", "/x", errno: EIO) else { Issue.record("EIO"); return }
    }
}
