import Foundation
import PostgateMessage
import PostgateOutbound
import PostgatePolicy
import PostgateStore
import PostgateMaildir
import PostgateIndex

/// Where the outbound side stores what it writes for people: a delivery status
/// notification goes to the sending agent's INBOX (without a known agent: the mailbox of
/// the sender's channel address, labelled `dsn`); a delivered reply goes to the agent's
/// Sent folder and, in a session, to the channel address's mailbox (labelled `own-reply`, so
/// flows and auto-replies skip it), where it joins its session by its signed Message-ID.
public struct SenderMailboxStore: SenderMailboxWriter {
    public let store: MailStore

    public init(store: MailStore) {
        self.store = store
    }

    public func storeNotification(_ message: [UInt8], for sender: String, agent: String?) throws {
        if let agent, let inbox = try store.agentFolder(agent, named: "INBOX") {
            _ = try store.append(message, to: inbox, flags: MessageFlags(), internalDate: Date())
            return
        }
        try deliver(message, mailFrom: "", into: sender, label: "dsn")
    }

    public func storeDeliveredReply(atPath path: String, sender: String, agent: String?, inThread: Bool) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the delivered reply \(path)")
        }
        let message = [UInt8](data)
        if let agent, let sent = try store.agentFolder(agent, named: "Sent") {
            _ = try store.append(message, to: sent, flags: MessageFlags(letters: "S"), internalDate: Date())
        }
        if inThread { try deliver(message, mailFrom: sender, into: sender, label: PolicyVerdict.ownReplyLabel) }
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
