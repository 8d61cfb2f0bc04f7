import Foundation
import PostgateMessage

/// What the SMTP transaction says about a message, stored beside it in the index.
public struct DeliveryEnvelope: Sendable {
    /// The reverse path of `MAIL FROM`, `""` for the null path `<>` (RFC 5321 section 4.5.5).
    public var mailFrom: String
    /// Per target mailbox, the recipient as the client gave it in `RCPT TO`.
    public var rcptTo: [MailboxTarget: String]
    /// The IMAP INTERNALDATE (RFC 9051 section 2.3.3): when the message was received.
    public var internalDate: Date
    /// The message's header section, parsed by the caller while it received the data.
    public var header: MessageHeader
    /// Per target mailbox, the inbound policy's label stored on the row (`message.policy`);
    /// a mailbox not listed gets none (an ordinary message).
    public var policy: [MailboxTarget: String]
    /// Address mailboxes whose copy is held for the address's bot, each with the queue the
    /// message would have gone to ("" for none): the queue copy waits for the bot's decision.
    public var botHolds: [MailboxTarget: String]
    /// The queue id of the SMTP transaction or fetch, stored on every row (`message.queue_id`).
    public var queueID: String?

    public init(
        mailFrom: String, rcptTo: [MailboxTarget: String], internalDate: Date = Date(), header: MessageHeader,
        policy: [MailboxTarget: String] = [:], botHolds: [MailboxTarget: String] = [:], queueID: String? = nil
    ) {
        self.queueID = queueID
        self.botHolds = botHolds
        self.mailFrom = mailFrom
        self.rcptTo = rcptTo
        self.internalDate = internalDate
        self.header = header
        self.policy = policy
    }
}
