/// Where the outbound side writes into the store: delivery status notifications for the
/// sender (the sending agent's INBOX; until agents exist, the mailbox of the sender's
/// channel address) and the copy of a delivered reply for the session's thread. Neither is
/// ever sent out by SMTP, so a failed reply cannot make a notification loop.
public protocol SenderMailboxWriter: Sendable {
    /// Stores `message`, a notification for the envelope sender `sender` (in the INBOX of
    /// `agent` when known), durably; throws to have it tried again on the next pass.
    func storeNotification(_ message: [UInt8], for sender: String, agent: String?) throws

    /// Stores the delivered reply in the file at `path`, sent as `sender`: in the sender's
    /// mailbox when it is `inThread` (a session's), in the Sent folder of `agent` when
    /// known; throws to have it tried again on the next pass.
    func storeDeliveredReply(atPath path: String, sender: String, agent: String?, inThread: Bool) throws
}
