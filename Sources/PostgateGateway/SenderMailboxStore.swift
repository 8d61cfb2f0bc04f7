import Foundation
import PostgateMessage
import PostgateOutbound
import PostgateStore

/// Stores delivery status notifications (labelled `dsn`) and copies of delivered replies
/// (labelled `reply`, so flows and auto-replies skip them) in the mailbox of the reply's
/// sender address, the channel address the agent wrote as. A copy joins its session by its
/// own signed Message-ID. The sending agent's INBOX and Sent folder take part of this role
/// once agents exist (issue 5).
public struct SenderMailboxStore: SenderMailboxWriter {
    public let store: MailStore

    public init(store: MailStore) {
        self.store = store
    }

    public func storeNotification(_ message: [UInt8], for sender: String) throws {
        try deliver(message, mailFrom: "", into: sender, label: "dsn")
    }

    public func storeDeliveredReply(atPath path: String, sender: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the delivered reply \(path)")
        }
        try deliver([UInt8](data), mailFrom: sender, into: sender, label: "reply")
    }

    private func deliver(_ message: [UInt8], mailFrom: String, into sender: String, label: String) throws {
        let address = try EmailAddress(sender)
        guard case .accept(let target) = try store.resolveRecipient(address) else {
            throw ConfigurationError("the reply's sender \(sender) is not an enabled hosted address; nothing can be stored for it")
        }
        let incoming = try store.beginMessage()
        try incoming.write(message)
        let envelope = DeliveryEnvelope(
            mailFrom: mailFrom, rcptTo: [target: sender], header: MessageHeader.parse(message), policy: [target: label]
        )
        _ = try store.deliver(incoming, to: [target], envelope: envelope)
    }
}
