/// Where delivery status notifications go: the gateway stores them in the sending agent's
/// INBOX (until agents exist: in the mailbox of the sender's channel address). They are
/// never sent out by SMTP, so a failed reply cannot make a notification loop.
public protocol DeliveryFailureNotifier: Sendable {
    /// Stores `message`, a notification for the envelope sender `sender`, durably; throws
    /// to have it tried again on the next pass.
    func storeNotification(_ message: [UInt8], for sender: String) throws
}
