import Foundation
import PostgateMessage

/// The auto-reply as a submitted message, the way an agent's mail client writes one: the
/// reply composer then gives it the address's From, Reply-To, signed Message-ID,
/// References, template header and footer and session marker, like every reply.
public enum AutoReplyMessage {
    /// RFC 3834 §3.1.5: the subject, prefixed with "Auto:".
    public static let subjectPrefix = "Auto: "

    /// - Parameters:
    ///   - from: the channel address.
    ///   - to: the recipient (RFC 3834 §4: the Return-Path of the message answered).
    ///   - subject: the raw Subject field value of the message answered (encoded words kept).
    ///   - inReplyTo: its Message-ID, in angle brackets (RFC 3834 §3.1.4).
    ///   - text: the rendered text body; `html` the rendered HTML body, nil for none.
    ///   - prefix: put before the subject: "Auto: " for an auto-reply, "Re: " for a bot's
    ///     answer in the conversation (not repeated when the subject has it already).
    ///   - autoSubmitted: RFC 3834 §5: `auto-replied` for an answer to a message,
    ///     `auto-generated` for one no message caused (a session's closing message).
    public static func compose(from: String, to: EmailAddress, subject: String?, inReplyTo: String?, text: String, html: String?,
                               date: Date, prefix: String = subjectPrefix, autoSubmitted: String = "auto-replied") -> [UInt8] {
        let boundary = "=_postgate-auto-" + UUID().uuidString.lowercased()
        var fields = [
            "From: <\(from)>",
            "To: <\(to)>",
            "Subject: " + (oneLine(subject ?? "").lowercased().hasPrefix(prefix.lowercased()) ? "" : prefix) + oneLine(subject ?? ""),
            "Date: " + RFC5322Date.format(secondsSince1970: Int(date.timeIntervalSince1970)),
        ]
        if let inReplyTo = inReplyTo.map(oneLine), !inReplyTo.isEmpty { fields.append("In-Reply-To: \(inReplyTo)") }
        // RFC 3834 §3.1.7; and Exchange's own field asking its responders not to answer.
        fields += ["Auto-Submitted: \(autoSubmitted)", "X-Auto-Response-Suppress: All", "MIME-Version: 1.0"]
        let textPart = part("text/plain", text)
        guard let html else {
            return Array((fields + textPart).joined(separator: "\r\n").utf8 + Array("\r\n".utf8))
        }
        fields.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        let body = ["", "--\(boundary)"] + textPart + ["--\(boundary)"] + part("text/html", html) + ["--\(boundary)--", ""]
        return Array((fields + body).joined(separator: "\r\n").utf8)
    }

    /// A part's fields, a blank line and its body, base64 (RFC 2045 §6.8).
    private static func part(_ type: String, _ text: String) -> [String] {
        ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", "",
         Data(text.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])]
    }

    /// A header value on one line: line breaks (of folding, or injected) become spaces.
    private static func oneLine(_ value: String) -> String {
        value.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
