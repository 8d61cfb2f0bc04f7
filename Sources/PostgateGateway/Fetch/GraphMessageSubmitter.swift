import Foundation
import NIOPosix
import PostgateBlocking
import PostgateConnectors
import PostgateDKIM
import PostgateMessage
import PostgateOutbound

/// Sends a reply through a Graph sending gateway: the MIME message as it left Postgate
/// (Message-ID, Reply-To, threading fields and DKIM signature unchanged) goes to
/// `POST /users/{id}/sendMail`, which keeps a copy in Sent Items.
///
/// Graph takes the recipients from the To, Cc and Bcc fields, not from an envelope, so the
/// envelope recipients that no To or Cc field names are given in a Bcc field (which the
/// provider removes before delivery), and any Bcc field the message had is replaced by it.
/// Graph answers for all recipients at once.
struct GraphMessageSubmitter: MessageSubmitter {
    let mailbox: GraphMailbox
    let threadPool: NIOThreadPool

    /// The largest message sent: its base64 form stays under Graph's 4 MB request limit.
    static let maxMessageBytes = 3 * 1024 * 1024 - 64 * 1024

    func submit(_ request: SMTPDeliveryRequest) async -> [OutboundRecipientOutcome] {
        let all = { (outcome: OutboundRecipientOutcome) in Array(repeating: outcome, count: request.recipients.count) }
        guard request.size <= Self.maxMessageBytes else {
            return all(.permanent(reason: "the message of \(request.size) bytes is larger than Graph sendMail takes (\(Self.maxMessageBytes) bytes)"))
        }
        let message: [UInt8]
        do {
            message = try await threadPool.runToCompletion {
                BlockingWork.assertAllowedHere("reading a message for Graph")
                return Array(try Data(contentsOf: URL(fileURLWithPath: request.path)))
            }
        } catch {
            return all(.temporary(reason: "cannot read the message: \(error)"))
        }
        do {
            try await mailbox.sendMIME(Self.addressed(message, to: request.recipients))
            return all(.delivered(reply: "202 Accepted by Graph sendMail for \(mailbox.user)"))
        } catch let error as GraphError {
            switch error {
            case .status(let code, _) where (400..<500).contains(code) && code != 408:
                // Graph refuses this message for good (malformed, too large, recipient rules).
                return all(.permanent(reason: error.description))
            default:
                // Throttling, a refused token or a missing permission (the administrator can
                // fix it), or Graph out of reach: the queue tries again.
                return all(.temporary(reason: error.description))
            }
        } catch {
            return all(.temporary(reason: "Graph sendMail: \(error)"))
        }
    }

    /// The message with a Bcc field naming the recipients no To or Cc field names (RFC 5322
    /// section 3.6.3), in place of any Bcc field it had; unchanged when there are none.
    static func addressed(_ message: [UInt8], to recipients: [String]) -> [UInt8] {
        let headerEnd = FetchedMessageImport.endOfHeader(in: message, from: 0) ?? message.count
        let header = MessageHeader.parse(message[..<headerEnd])
        let named = Set(AddressListParser.addresses(header.values("To") + header.values("Cc")))
        let hidden = recipients.filter { recipient in
            !named.contains((try? EmailAddress(recipient).canonical) ?? recipient)
        }
        var fields = DKIMHeaderField.split(headerSection: message[..<headerEnd])
        let hadBcc = fields.contains { $0.name == "bcc" }
        guard !hidden.isEmpty || hadBcc else { return message }
        fields.removeAll { $0.name == "bcc" }
        var result: [UInt8] = []
        result.reserveCapacity(message.count + 64 * hidden.count)
        for field in fields { result.append(contentsOf: field.raw) }
        if !hidden.isEmpty {
            result.append(contentsOf: Array("Bcc: \(hidden.joined(separator: ",\r\n "))\r\n".utf8))
        }
        result.append(contentsOf: message[headerEnd...])
        return result
    }
}
