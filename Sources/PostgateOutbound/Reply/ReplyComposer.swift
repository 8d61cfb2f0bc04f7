import Foundation
import PostgateMessage

/// Turns an agent's submitted message into the reply the customer gets:
///
/// - From is the channel address with its display name (RFC 2047 when needed); Reply-To is
///   the contact centre's address, which also gets the reply as an envelope-only Bcc; the
///   agent's From, Sender, Reply-To, Bcc, Message-ID, threading and DKIM fields are dropped,
///   so the Bcc header never reaches a recipient (RFC 5322 section 3.6.3).
/// - Message-ID is the signed session id; In-Reply-To and References come from the thread
///   (RFC 5322 section 3.6.4).
/// - The template header and footer go into the first inline text/plain and text/html parts,
///   which are decoded and re-encoded in place (format=flowed kept): the MIME structure
///   around them is kept byte for byte. The contact card is attached (multipart/mixed) to a
///   session's first reply.
/// - A signed or encrypted part is never changed, nor anything inside it. A signed reply
///   (multipart/signed, opaque-signed S/MIME) goes whole into a multipart/mixed with the
///   template's header before it and its footer, the agent's signature and the marker after
///   it, so its signature still verifies; an encrypted reply gets neither template, marker nor
///   contact card: text in clear beside it would be all some readers show, and clients that
///   decrypt only a message's top-level part would no longer open it. Either way the
///   signed Message-ID keeps the thread.
/// - To/Cc/Bcc counts and the attachments' decoded size are checked; a value with CR or LF
///   in any field is refused.
///
/// Pure: bytes in, bytes out. DKIM signing comes after it.
public struct ReplyComposer: Sendable {
    public var channel: Channel

    public init(channel: Channel) {
        self.channel = channel
    }

    /// The reply for `submitted` (an RFC 5322 message, CRLF or LF lines) sent to the
    /// submission's `envelopeRecipients`.
    public func compose(_ submitted: [UInt8], envelopeRecipients: [String], thread: Thread, date: Date = Date()) throws(ReplyCompositionError) -> Reply {
        try checkFieldValues(thread)
        let root = MIMEParser().parse(submitted)
        guard !root.header.fields.isEmpty else { throw .malformed("the message has no header section") }
        try checkRecipientCounts(root.header, envelopeRecipients: envelopeRecipients)
        let targets = Self.templateTargets(root)
        try checkAttachments(root, targets: targets, submitted)
        var content = rewrittenContent(root, targets: targets, submitted, marker: thread.bodyMarker)
        var before: [[UInt8]] = []
        var after: [[UInt8]] = []
        let protection = Self.protection(of: root)
        if protection == .signed {
            (before, after) = templateParts(marker: thread.bodyMarker, avoiding: Self.boundaries(of: root))
        }
        if protection != .encrypted, thread.isFirstReply, let card = channel.contactCard, !card.isEmpty {
            after.append(Self.cardPart(card))
        }
        if !before.isEmpty || !after.isEmpty {
            content = Self.wrapped(content, before: before, after: after, seed: thread.messageID)
        }
        var header = replyFields(thread) + Self.keptFields(submitted, root: root)
        if root.header["Date"] == nil { header.append("Date: " + RFC5322Date.format(secondsSince1970: Int(date.timeIntervalSince1970))) }
        header += ["MIME-Version: 1.0"] + content.fields
        let bytes = Array((header.joined(separator: "\r\n") + "\r\n\r\n").utf8) + content.body
        var recipients = envelopeRecipients
        if let copy = channel.contactCentreAddress, !copy.isEmpty,
           !recipients.contains(where: { $0.caseInsensitiveCompare(copy) == .orderedSame }) {
            recipients.append(copy)
        }
        guard !recipients.isEmpty else { throw .malformed("the reply has no recipient") }
        return Reply(bytes: bytes, recipients: recipients)
    }

    /// From, Reply-To and the threading fields the gateway writes.
    private func replyFields(_ thread: Thread) -> [String] {
        var fields = ["From: " + HeaderPhraseEncoder.mailbox(name: channel.displayName, address: channel.address)]
        if let answer = channel.contactCentreAddress.flatMap({ $0.isEmpty ? nil : $0 }) ?? channel.replyTo {
            fields.append("Reply-To: <\(answer)>")
        }
        fields.append("Message-ID: \(thread.messageID)")
        if let parent = thread.inReplyTo { fields.append("In-Reply-To: \(parent)") }
        if !thread.references.isEmpty { fields.append("References: " + thread.references.joined(separator: "\r\n ")) }
        return fields
    }

    /// Refuses CR or LF in every value that becomes (part of) a header field.
    private func checkFieldValues(_ thread: Thread) throws(ReplyCompositionError) {
        let values: [(String, String?)] = [
            ("the display name", channel.displayName), ("the channel address", channel.address),
            ("the contact centre address", channel.contactCentreAddress), ("the Reply-To address", channel.replyTo),
            ("the Message-ID", thread.messageID),
            ("In-Reply-To", thread.inReplyTo), ("References", thread.references.joined(separator: " ")),
        ]
        for (name, value) in values where value?.contains(where: \.isNewline) == true {
            throw .lineBreakInField(name)
        }
    }

    /// To, Cc and Bcc counts against the channel's limits (`maxTo`, `maxCc`, `maxBcc`); an
    /// envelope recipient in neither To nor Cc is a Bcc.
    private func checkRecipientCounts(_ header: MessageHeader, envelopeRecipients: [String]) throws(ReplyCompositionError) {
        let to = AddressListParser.addresses(header.values("To"))
        let cc = AddressListParser.addresses(header.values("Cc"))
        let visible = Set((to + cc).map { $0.lowercased() })
        let hidden = envelopeRecipients.filter { !visible.contains($0.lowercased()) }.count
        let bcc = max(AddressListParser.addresses(header.values("Bcc")).count, hidden)
        for (field, count, limit) in [("To", to.count, channel.maxTo), ("Cc", cc.count, channel.maxCc), ("Bcc", bcc, channel.maxBcc)]
        where count > limit {
            throw .tooManyRecipients(field: field, count: count, limit: limit)
        }
    }

    private func checkAttachments(_ root: MIMEPart, targets: [MIMEByteRange], _ bytes: [UInt8]) throws(ReplyCompositionError) {
        let size = Self.attachmentBytes(root, targets: Set(targets), bytes)
        if size > channel.maxAttachmentBytes { throw .attachmentsTooLarge(bytes: size, limit: channel.maxAttachmentBytes) }
    }
}
