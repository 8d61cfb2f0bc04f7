import Foundation
import PostgateMessage
import PostgateOutbound
import PostgatePolicy
import PostgateStore

/// The test message of a forwarding check: sent as the channel address to the customer's
/// public address, through the outbound queue like a reply, and recognised by the inbound
/// policy (`ForwardingCheck`) when the customer's forwarding brings it back.
public struct ForwardingCheckMessage: Sendable {
    /// The signed token, in the Message-ID and the subject.
    public var token: String
    public var messageID: String
    public var outbound: OutboundMessageRecord
}

extension ReplySubmission {
    /// Composes, DKIM-signs and queues a forwarding check from the channel address `address`
    /// to `publicAddress`. Unlike a reply it carries no Reply-To and no copy to the contact
    /// centre's address, so only the customer's forwarding can bring it back, and it is
    /// marked `Auto-Submitted: auto-generated` (RFC 3834 section 5) so that responders on the
    /// way stay silent.
    /// - Throws: `ReplyRefusal` when the address is not an enabled channel address.
    public func submitForwardingCheck(from address: EmailAddress, to publicAddress: EmailAddress, now: Date = Date()) throws
        -> ForwardingCheckMessage {
        guard let record = try store.address(address, countingMessages: false), record.enabled else {
            throw ReplyRefusal(code: 550, text: "5.1.1 \(address) is not an enabled channel address")
        }
        let token = store.sessionMessageIDs.forwardingCheckToken()
        let messageID = "<\(token)@\(try messageIDDomain())>"
        let fields = [
            "From: " + HeaderPhraseEncoder.mailbox(name: record.settings.displayName, address: record.email),
            "To: <\(publicAddress)>",
            "Subject: " + ForwardingCheck.subject(token: token),
            "Date: " + RFC5322Date.format(secondsSince1970: Int(now.timeIntervalSince1970)),
            "Message-ID: " + messageID,
            "Auto-Submitted: auto-generated",
            "X-Auto-Response-Suppress: All",
            "MIME-Version: 1.0",
        ]
        let body = [
            "This message checks that mail sent to \(publicAddress) is forwarded to",
            "\(record.email). Nobody needs to answer it; it is filed for the administrator",
            "when it arrives.",
        ]
        let text = body.joined(separator: "\r\n")
        // An internationalized address makes the text UTF-8 (RFC 6532 section 3.1 for the fields).
        let content = ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: " + (text.utf8.contains { $0 > 127 } ? "8bit" : "7bit")]
        let bytes = Array((fields + content + ["", text, ""]).joined(separator: "\r\n").utf8)
        let sender = try EmailAddress(record.email)
        let signed = try sign(bytes, domain: sender.domain, kind: record.domainKind, now: now)
        let outbound = try queue.enqueue(sender: sender, recipients: [publicAddress], message: signed, now: now)
        return ForwardingCheckMessage(token: token, messageID: messageID, outbound: outbound)
    }
}
