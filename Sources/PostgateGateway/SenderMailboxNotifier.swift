import PostgateMessage
import PostgateOutbound
import PostgateStore

/// Stores delivery status notifications in the mailbox of the reply's sender address (the
/// channel address the agent wrote as), labelled `dsn` in the index so queues and flows
/// can tell them from customer mail. The sending agent's own INBOX takes this role once
/// agents exist (issue 5).
public struct SenderMailboxNotifier: DeliveryFailureNotifier {
    public let store: MailStore

    public init(store: MailStore) {
        self.store = store
    }

    public func storeNotification(_ message: [UInt8], for sender: String) throws {
        let address = try EmailAddress(sender)
        guard case .accept(let target) = try store.resolveRecipient(address) else {
            throw ConfigurationError("the reply's sender \(sender) is not an enabled hosted address; its notification cannot be stored")
        }
        let incoming = try store.beginMessage()
        try incoming.write(message)
        let envelope = DeliveryEnvelope(
            mailFrom: "", rcptTo: [target: sender], header: MessageHeader.parse(message),
            policy: [target: "dsn"]
        )
        _ = try store.deliver(incoming, to: [target], envelope: envelope)
    }
}
