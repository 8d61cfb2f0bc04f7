import Foundation
import Logging
import NIOPosix
import PostgateAutoReply
import PostgateMessage
import PostgateOutbound
import PostgateStore

/// The session passes of `postgate serve`, every `sessions.sweep_interval`: sessions no agent
/// answered in time move to their transfer queue (visible over IMAP at once), and sessions
/// past their idle timeout close, with the address's closing message when it has one.
extension Gateway {
    func startSessionSweeper(store: MailStore, replies: ReplySubmission) -> Task<Void, Never> {
        let interval = configuration.sessions.sweepInterval
        let (threadPool, logger) = (self.threadPool, self.logger)
        return Task {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .seconds(interval))
                    try await threadPool.runIfActive {
                        try store.transferUnansweredSessions()
                        for closing in try store.closeIdleSessions() {
                            Self.sendClosingMessage(closing, replies: replies, logger: logger)
                        }
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("session pass failed; the next one tries again", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Composes the closing message from the address's template and queues it like a reply
    /// (DKIM, Reply-To, the session's Message-ID); `Auto-Submitted: auto-generated`. A
    /// failure is logged: the session is closed either way.
    static func sendClosingMessage(_ closing: SessionClosing, replies: ReplySubmission, logger: Logger, now: Date = Date()) {
        do {
            guard let record = try replies.store.directorySnapshot().address(closing.address),
                  let text = try record.settings.closingTemplate(.text) else { return }
            let customer = try EmailAddress(closing.customer)
            guard try replies.store.directorySnapshot().resolveRecipient(customer) == .domainNotHosted else { return }
            var values = AutoReplyValues()
            values.subject = closing.subject.map(EncodedWordDecoder.decode) ?? ""
            values.sessionReference = String(closing.sessionID)
            let html = try record.settings.closingTemplate(.html)?.render(values)
            let bytes = AutoReplyMessage.compose(
                from: closing.address.description, to: customer, subject: closing.subject, inReplyTo: closing.messageID,
                text: text.render(values), html: html, date: now, prefix: "Re: ", autoSubmitted: "auto-generated")
            let parent = OutboundReplyParent(messageID: closing.messageID ?? "", references: closing.references, sessionID: closing.sessionID)
            let queued = try replies.submitClosingMessage(bytes, from: closing.address, to: customer, parent: parent, now: now)
            logger.info("closing message queued", metadata: [
                "session": "\(closing.sessionID)", "address": "\(closing.address)", "reply_queue_id": "\(queued.id)",
            ])
        } catch {
            logger.error("closing message not queued", metadata: ["session": "\(closing.sessionID)", "error": "\(error)"])
        }
    }
}
