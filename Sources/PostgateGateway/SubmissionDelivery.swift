import Logging
import NIOCore
import NIOPosix
import PostgateListener
import PostgateMessage
import PostgateSMTP
import PostgateStore

/// The submission listeners' delegate (RFC 6409): agents authenticate with their IMAP
/// credentials, may send only as a channel address they belong to, and each message goes
/// to `ReplySubmission` (compose, DKIM-sign, queue durably) before the 250.
///
/// Store calls block, so they run on the thread pool; password checks (scrypt) run on the
/// password-check pool, whose size bounds how many run at once. Failed logins are answered
/// after a delay and counted per client IP and per account by the throttle shared with
/// IMAP, which refuses further attempts past its limits.
public struct SubmissionDelivery: SMTPServerDelegate {
    let submission: ReplySubmission
    let threadPool: NIOThreadPool
    let authThreadPool: NIOThreadPool
    let throttle: LoginThrottle
    let failedLoginDelay: TimeAmount
    let logger: Logger

    /// - Parameter authThreadPool: runs password checks; nil: `threadPool`.
    public init(submission: ReplySubmission, threadPool: NIOThreadPool, authThreadPool: NIOThreadPool? = nil, throttle: LoginThrottle,
                failedLoginDelay: TimeAmount, logger: Logger) {
        self.submission = submission
        self.threadPool = threadPool
        self.authThreadPool = authThreadPool ?? threadPool
        self.throttle = throttle
        self.failedLoginDelay = failedLoginDelay
        self.logger = logger
    }

    /// Any syntactically valid address (the parser has checked it): the client is an
    /// authenticated agent, not a stranger, so this is submission, not relaying.
    public func verifyRecipient(_ recipient: EmailAddress, in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<RecipientVerdict> {
        eventLoop.makeSucceededFuture(.accept)
    }

    public func authenticate(_ credentials: SASLCredentials, session: SMTPSessionInfo, eventLoop: any EventLoop) -> EventLoopFuture<AuthenticationVerdict> {
        let ip = session.remoteAddress
        let (store, threadPool, authThreadPool) = (submission.store, self.threadPool, self.authThreadPool)
        return throttle.admit(address: ip, account: credentials.user, eventLoop: eventLoop).flatMap { [throttle, logger, failedLoginDelay] attempt in
            guard let attempt else {
                return eventLoop.makeSucceededFuture(.rejected(SMTPReply(454, "4.7.0", "Too many failed logins; try again later")))
            }
            return Self.check(credentials, attempt: attempt, ip: ip, store: store, threadPool: threadPool, authThreadPool: authThreadPool,
                              throttle: throttle,
                              logger: logger, failedLoginDelay: failedLoginDelay, eventLoop: eventLoop)
        }
    }

    private static func check(_ credentials: SASLCredentials, attempt: LoginThrottle.Attempt, ip: String, store: MailStore,
                              threadPool: NIOThreadPool, authThreadPool: NIOThreadPool, throttle: LoginThrottle, logger: Logger,
                              failedLoginDelay: TimeAmount, eventLoop: any EventLoop) -> EventLoopFuture<AuthenticationVerdict> {
        PasswordCheck.run(cached: { try store.authenticateFromCache(agent: credentials.user, password: credentials.password) },
                          full: { try store.authenticate(agent: credentials.user, password: credentials.password) },
                          lookupPool: threadPool, checkPool: authThreadPool, eventLoop: eventLoop)
        .flatMapError { [throttle] error in
            throttle.finish(attempt, .notChecked)
            return eventLoop.makeFailedFuture(error)
        }.flatMap { [throttle, logger, failedLoginDelay] identity in
            if let identity {
                throttle.finish(attempt, .succeeded)
                return eventLoop.makeSucceededFuture(.accepted(user: identity.name))
            }
            throttle.finish(attempt, .failed)
            logger.notice("submission login failed", metadata: ["client": "\(ip)", "user": "\(credentials.user.prefix(64))"])
            return eventLoop.scheduleTask(in: failedLoginDelay) {
                AuthenticationVerdict.rejected(SMTPReply(535, "5.7.8", "Authentication credentials invalid"))
            }.futureResult
        }
    }

    /// MAIL FROM must be a channel address the agent may send as (550 5.7.1 otherwise).
    public func verifySender(in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<SenderVerdict> {
        guard case .mailbox(let sender) = transaction.sender, let agent = transaction.session.authenticatedUser else {
            return eventLoop.makeSucceededFuture(.reject(SMTPReply(550, "5.7.1", "Replies need a channel address as sender, not <>")))
        }
        let submission = self.submission
        return threadPool.runIfActive(eventLoop: eventLoop) {
            do {
                _ = try submission.senderAddress(sender, agent: agent)
                return .accept
            } catch let refusal as ReplyRefusal {
                return .reject(refusal.smtpReply)
            }
        }
    }

    public func openMessage(for transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<any SMTPMessageWriter> {
        eventLoop.makeSucceededFuture(SubmissionMessageWriter(delivery: self, transaction: transaction, eventLoop: eventLoop))
    }
}
