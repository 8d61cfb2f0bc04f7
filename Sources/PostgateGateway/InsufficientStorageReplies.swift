import NIOCore
import PostgateMaildir
import PostgateMessage
import PostgateSMTP

/// An SMTP listener's delegate whose store failures for want of space answer
/// `452 4.3.1` (RFC 5321 section 4.2.2: "Requested action not taken: insufficient system
/// storage"; RFC 3463 section 3.4: "Mail system full") instead of the generic
/// `451 4.3.0`, so the client keeps the message and retries; the next transaction after
/// space returns is accepted as usual (nothing is held from the failed one).
struct InsufficientStorageReplies: SMTPServerDelegate {
    let base: any SMTPServerDelegate

    func verifyRecipient(_ recipient: EmailAddress, in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<RecipientVerdict> {
        base.verifyRecipient(recipient, in: transaction, eventLoop: eventLoop)
    }

    func openMessage(for transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<any SMTPMessageWriter> {
        base.openMessage(for: transaction, eventLoop: eventLoop)
            .map { InsufficientStorageWriter(base: $0) as any SMTPMessageWriter }
            .flatMapErrorThrowing { throw insufficientStorageReply(for: $0) }
    }

    func authenticate(_ credentials: SASLCredentials, session: SMTPSessionInfo, eventLoop: any EventLoop) -> EventLoopFuture<AuthenticationVerdict> {
        base.authenticate(credentials, session: session, eventLoop: eventLoop)
    }

    func verifySender(in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<SenderVerdict> {
        base.verifySender(in: transaction, eventLoop: eventLoop)
    }
}

/// The message writer of `InsufficientStorageReplies`.
final class InsufficientStorageWriter: SMTPMessageWriter {
    let base: any SMTPMessageWriter

    init(base: any SMTPMessageWriter) {
        self.base = base
    }

    func write(_ chunk: ByteBuffer) -> EventLoopFuture<Void>? {
        base.write(chunk)?.flatMapErrorThrowing { throw insufficientStorageReply(for: $0) }
    }

    func commit(header: MessageHeader) -> EventLoopFuture<String> {
        base.commit(header: header).flatMapErrorThrowing { throw insufficientStorageReply(for: $0) }
    }

    func abort() {
        base.abort()
    }
}

/// `452 4.3.1` for a store failure for want of space; any other error as it is.
private func insufficientStorageReply(for error: any Error) -> any Error {
    guard case .insufficientStorage = error as? StoreError else { return error }
    return SMTPReply(452, "4.3.1", "Insufficient system storage, try again later")
}
