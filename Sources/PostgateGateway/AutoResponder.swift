import Foundation
import Logging
import PostgateAutoReply
import PostgateBlocking
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateMessage
import PostgateOutbound
import PostgateSessions
import PostgateStore

/// Sends an address's auto-replies (RFC 3834) for the messages it stored: the decision is
/// `AutoReplyDecision`'s, the body the address's template, and the reply takes the path of
/// an agent's (`ReplySubmission`: composer, DKIM, durable outbound queue), recorded in the
/// message's session.
///
/// It runs once the message is durable and before it is acknowledged: the auto-reply is
/// queued durably by then. It is a courtesy: a failure to queue one is logged and never
/// costs the message; a crash between the message's commit and the auto-reply's loses the
/// auto-reply, never the message.
public struct AutoResponder: Sendable {
    let submission: ReplySubmission
    /// The hourly cap of an address that sets none (`auto_replies.max_per_sender_per_hour`).
    let defaultHourlyCap: Int
    let logger: Logger

    public init(submission: ReplySubmission, logger: Logger) {
        self.submission = submission
        self.defaultHourlyCap = submission.configuration.autoReplies.maxPerSenderPerHour
        self.logger = logger
    }

    /// What the delivery knew of one message when it committed it.
    struct Arrival: Sendable {
        var header: MessageHeader
        /// The envelope sender (or a fetched message's Return-Path); `""` for `<>`.
        var envelopeSender: String
        var date: Date
        /// Per address mailbox path: the address and the queue the message was routed to.
        var addresses: [String: (address: EmailAddress, queue: String?)]
        /// The message's queue id, on the lines about its auto-reply.
        var queueID: String
    }

    /// Runs on the thread pool, before the acknowledgement: answers each copy stored in an
    /// address's own mailbox whose address has an auto-reply switched on.
    func answer(_ stored: [StoredMessage], arrival: Arrival) {
        BlockingWork.assertAllowedHere("auto-reply")
        var logger = self.logger
        logger[metadataKey: "queue_id"] = "\(arrival.queueID)"
        for message in stored {
            guard let target = arrival.addresses[message.mailboxPath] else { continue }
            let address = target.address
            do {
                try answer(message, address: address, queue: target.queue, arrival: arrival, logger: logger)
            } catch let error as OutboundQueueError {
                if case .autoReplyHeld = error {
                    logger.notice("auto-reply held back", metadata: ["address": "\(address)", "reason": "\(error)"])
                } else {
                    logger.error("auto-reply not queued", metadata: ["address": "\(address)", "error": "\(error)"])
                }
            } catch {
                logger.error("auto-reply not queued", metadata: ["address": "\(address)", "error": "\(error)"])
            }
        }
    }

    private func answer(_ message: StoredMessage, address: EmailAddress, queue: String?, arrival: Arrival, logger: Logger) throws {
        let store = submission.store
        let directory = try store.directorySnapshot()
        guard let record = try directory.address(address) else { return }
        let settings = record.settings
        let rules = settings.autoReplyRules(defaultHourlyCap: defaultHourlyCap)
        guard !rules.enabled.isEmpty, submission.configuration.autoReplies.enabled else { return }
        let calendar = try store.workingCalendar(of: address)?.calendar
        let facts = AutoReplyFacts(
            header: arrival.header, envelopeSender: arrival.envelopeSender, policyLabel: message.policy,
            opensSession: [SessionMatchReason.newThread.rawValue, SessionMatchReason.expired.rawValue].contains(message.sessionReason ?? ""),
            inWorkingHours: calendar?.isOpen(at: arrival.date) ?? true)
        let contactCentre = settings.contactCentreAddress?.lowercased()
        let screening = try AutoReplyDecision.screen(facts, rules: rules) { candidate throws(StoreError) in
            if candidate.canonical == contactCentre { return true }
            return try directory.resolveRecipient(candidate) != .domainNotHosted
        }
        guard case .reply(let kind, let recipient) = screening else {
            if case .skip(let reason) = screening {
                logger.debug("no auto-reply", metadata: ["address": "\(address)", "reason": "\(reason)"])
            }
            return
        }
        guard let text = try settings.autoReplyTemplate(kind, .text) else { return }
        var values = AutoReplyValues()
        values.customerName = AutoReplyValues.displayName(from: arrival.header["From"])
        values.subject = arrival.header["Subject"].map(EncodedWordDecoder.decode) ?? ""
        values.sessionReference = message.sessionID.map(String.init) ?? ""
        values.queue = queue ?? ""
        if let calendar { values.setNextOpening(of: calendar, after: arrival.date) }
        let html = try settings.autoReplyTemplate(kind, .html)?.render(values)
        let bytes = AutoReplyMessage.compose(
            from: address.description, to: recipient, subject: arrival.header["Subject"], inReplyTo: message.messageID,
            text: text.render(values), html: html, date: arrival.date)
        let parent = OutboundReplyParent(messageID: message.messageID ?? "", references: message.references, sessionID: message.sessionID)
        let queued = try submission.submitAutoReply(bytes, from: address, parent: parent,
                                                    autoReply: OutboundAutoReply(kind: kind, recipient: recipient, rules: rules))
        logger.info("auto-reply queued", metadata: [
            "address": "\(address)", "kind": "\(kind.rawValue)", "reply_queue_id": "\(queued.id)",
            "session": "\(message.sessionID.map(String.init) ?? "-")",
        ])
    }
}
