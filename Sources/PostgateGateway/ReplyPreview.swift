import Foundation
import PostgateAutoReply
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgateOutbound
import PostgatePolicy

/// A sample reply of a channel address as a customer would receive it: an agent's short
/// answer (text and HTML) composed exactly as a submitted reply is (From with the display
/// name, Reply-To, the template's header and footer in both parts, the contact card of a
/// session's first reply), but not signed, queued or sent.
public enum ReplyPreview {
    /// The customer the sample is addressed to (RFC 2606 reserves example.com).
    public static let sampleCustomer = "customer@example.com"

    /// The composed sample, as its MIME bytes; written by `agent` when given (its signature,
    /// and its own address as From where the address has personal replies on).
    public static func compose(_ address: AddressRecord, outbound: GatewayConfiguration.OutboundSettings, date: Date,
                               agent: AgentRecord? = nil) throws -> [UInt8] {
        let channel = ReplySubmission.channel(of: address, outbound: outbound, agent: agent)
        let domain = address.email.split(separator: "@").last.map(String.init) ?? "example.com"
        let thread = ReplyComposer.Thread(messageID: "<preview@\(domain)>", inReplyTo: "<question@example.com>",
                                          references: ["<question@example.com>"], isFirstReply: true)
        return try ReplyComposer(channel: channel).compose(sampleSubmission(from: address.email, date: date),
                                                           envelopeRecipients: [sampleCustomer], thread: thread, date: date).bytes
    }

    /// An agent's reply as a mail client submits it: multipart/alternative, text and HTML.
    static func sampleSubmission(from address: String, date: Date) -> [UInt8] {
        let boundary = "preview-boundary"
        return Array([
            "From: <\(address)>",
            "To: Customer <\(sampleCustomer)>",
            "Subject: Re: Your request",
            "Date: \(RFC5322Date.format(secondsSince1970: Int(date.timeIntervalSince1970)))",
            "In-Reply-To: <question@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "--\(boundary)",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "Hello,",
            "",
            "thank you for your message. Your order has shipped and should arrive within two days.",
            "",
            "Kind regards,",
            "Ana",
            "--\(boundary)",
            "Content-Type: text/html; charset=utf-8",
            "",
            "<html><body><p>Hello,</p><p>thank you for your message. Your order has shipped and should arrive within two days.</p>"
                + "<p>Kind regards,<br>Ana</p></body></html>",
            "--\(boundary)--",
            "",
        ].joined(separator: "\r\n").utf8)
    }

    /// What a customer sees of a message: the decoded text and HTML bodies (the first of
    /// each that is not an attachment) and the attachments' file names.
    public struct Parts: Sendable, Equatable {
        public var text: String?
        public var html: String?
        public var attachments: [String] = []
    }

    public static func parts(of message: [UInt8]) -> Parts {
        let root = MIMEParser().parse(message)
        let source = MIMEBytesSource(message)
        var found = Parts()
        func walk(_ part: MIMEPart) {
            if part.parts.isEmpty {
                if let disposition = part.disposition, disposition.isAttachment || disposition.filename != nil {
                    found.attachments.append(disposition.filename ?? part.contentType.mimeType)
                } else if part.contentType.mimeType == "text/plain", found.text == nil {
                    found.text = try? part.decodedText(from: source)
                } else if part.contentType.mimeType == "text/html", found.html == nil {
                    found.html = try? part.decodedText(from: source)
                }
            }
            part.parts.forEach(walk)
        }
        walk(root)
        return found
    }

    /// An HTML page a browser opens: the reply's HTML part, with a character set declared.
    public static func page(html: String) -> String {
        html.lowercased().contains("<html") ? "<!DOCTYPE html>\n<meta charset=\"utf-8\">\n" + html
            : "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Reply preview</title></head><body>\n\(html)\n</body></html>\n"
    }
}

extension ReplyPreview {
    /// A sample auto-reply of `kind` as the customer would receive it, composed as a queued
    /// one is (the template rendered with sample values and `calendar`'s next opening after
    /// `date`, the reply template's header and footer, From, Reply-To), not signed or queued.
    /// - Throws: `StoreError.invalidSetting` when the address has no text template of `kind`.
    public static func composeAutoReply(_ address: AddressRecord, kind: AutoReplyKind, calendar: WorkingCalendar?, queue: String?,
                                        outbound: GatewayConfiguration.OutboundSettings, date: Date) throws -> [UInt8] {
        guard let text = try address.settings.autoReplyTemplate(kind, .text) else {
            throw StoreError.invalidSetting("\(address.email) has no \(kind.name) auto-reply template: set one with --autoreply-\(kind.rawValue)-text FILE")
        }
        let values = AutoReplyValues.sample(calendar: calendar, at: date, queue: queue)
        let customer = try EmailAddress(sampleCustomer)
        let html = try address.settings.autoReplyTemplate(kind, .html)?.render(values)
        let submitted = AutoReplyMessage.compose(
            from: address.email, to: customer, subject: values.subject, inReplyTo: "<question@example.com>",
            text: text.render(values), html: html, date: date)
        let channel = ReplySubmission.channel(of: address, outbound: outbound)
        let domain = address.email.split(separator: "@").last.map(String.init) ?? "example.com"
        let thread = ReplyComposer.Thread(messageID: "<preview@\(domain)>", inReplyTo: "<question@example.com>",
                                          references: ["<question@example.com>"])
        return try ReplyComposer(channel: channel).compose(submitted, envelopeRecipients: [sampleCustomer], thread: thread, date: date).bytes
    }
}
