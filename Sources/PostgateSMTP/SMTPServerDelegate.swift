import NIOCore
import PostgateMessage

/// What the SMTP protocol code asks of the rest of the gateway: recipient policy and a
/// place to put the message. Keeping this a protocol keeps SQL and files out of the
/// protocol code (and lets tests supply their own).
///
/// Futures may complete on any event loop or thread; the handler hops back to its own.
/// A future that fails with an `SMTPReply` sends that reply; any other error sends
/// `451 4.3.0`.
public protocol SMTPServerDelegate: Sendable {
    /// Decides whether `recipient` is accepted for `transaction` (RFC 5321 section 3.3).
    func verifyRecipient(_ recipient: EmailAddress, in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<RecipientVerdict>

    /// Opens a writer for the message of `transaction`, after DATA and before the 354.
    func openMessage(for transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<any SMTPMessageWriter>

    /// Submission listeners: checks AUTH credentials (RFC 4954). Called on `eventLoop`, so a
    /// slow check (scrypt) must run elsewhere, on a thread pool.
    func authenticate(_ credentials: SASLCredentials, session: SMTPSessionInfo, eventLoop: any EventLoop) -> EventLoopFuture<AuthenticationVerdict>

    /// Submission listeners: decides whether `transaction.session.authenticatedUser` may
    /// send as `transaction.sender` (RFC 6409 section 6.1).
    func verifySender(in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<SenderVerdict>
}

/// The MX listener's answers to what only submission listeners ask: no one authenticates
/// (the MX listener never offers AUTH, so this is never called there) and any sender may
/// start a transaction (RFC 5321 judges recipients, not senders).
extension SMTPServerDelegate {
    public func authenticate(_ credentials: SASLCredentials, session: SMTPSessionInfo, eventLoop: any EventLoop) -> EventLoopFuture<AuthenticationVerdict> {
        eventLoop.makeSucceededFuture(.rejected(SMTPReply(454, "4.7.0", "Authentication is not available here")))
    }

    public func verifySender(in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<SenderVerdict> {
        eventLoop.makeSucceededFuture(.accept)
    }
}

/// Receives one message's content as it streams in.
///
/// The handler calls it only from its event loop, one call at a time, and never writes
/// again before a returned future has completed.
public protocol SMTPMessageWriter: AnyObject, Sendable {
    /// Takes the next chunk of (dot-unstuffed) content. Returns nil when it can take more
    /// at once, or a future that completes when it can (backpressure).
    func write(_ chunk: ByteBuffer) -> EventLoopFuture<Void>?

    /// Makes the message durable, succeeding with an id for the 250 reply. Nothing may be
    /// acknowledged to the client before this future succeeds.
    func commit(header: MessageHeader) -> EventLoopFuture<String>

    /// Drops the message: the client is told it was refused.
    func abort()
}
