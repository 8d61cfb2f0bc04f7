import Foundation
import PostgateMessage
import PostgateStore

/// A delivery status notification (RFC 3464) for recipients of a reply that failed: a
/// `multipart/report; report-type=delivery-status` (RFC 6522) with a human-readable part,
/// the `message/delivery-status` fields per recipient, and the failed message's header as
/// `text/rfc822-headers`. Pure: bytes in, bytes out.
public struct DeliveryStatusNotification: Sendable {
    /// The gateway's host name: Reporting-MTA and the From/Message-ID domain.
    public var reportingMTA: String
    /// When the notification is written.
    public var date: Date

    public init(reportingMTA: String, date: Date = Date()) {
        self.reportingMTA = reportingMTA
        self.date = date
    }

    /// The notification for `report`, quoting `originalHeader` (the failed message's header
    /// section, at most the first 64 KiB are used).
    public func message(for report: OutboundFailureReport, originalHeader: [UInt8]) -> [UInt8] {
        let boundary = "=_postgate-dsn-\(report.messageID)-\(Int(date.timeIntervalSince1970))"
        let header = MessageHeader.parse(originalHeader)
        let subject = header.values("Subject").first.map(EncodedWordDecoder.decode) ?? ""
        var lines = [
            "From: Mail Delivery System <MAILER-DAEMON@\(reportingMTA)>",
            "To: <\(report.sender)>",
            "Subject: Undelivered reply: \(Self.oneLine(subject))",
            "Date: \(RFC5322Date.format(secondsSince1970: Int(date.timeIntervalSince1970)))",
            "Message-ID: <dsn-\(report.messageID)-\(Int(date.timeIntervalSince1970))@\(reportingMTA)>",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"\(boundary)\"",
            "",
            "--\(boundary)",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            "Your reply could not be delivered to these recipients:",
            "",
        ]
        lines += report.recipients.map { "  <\($0.address)>: \(Self.oneLine($0.lastReply ?? "failed"))" }
        lines += ["", "--\(boundary)", "Content-Type: message/delivery-status", "",
                  "Reporting-MTA: dns; \(reportingMTA)",
                  "Arrival-Date: \(RFC5322Date.format(secondsSince1970: Int(report.createdAt.timeIntervalSince1970)))"]
        for recipient in report.recipients { lines += [""] + recipientFields(recipient) }
        lines += ["", "--\(boundary)", "Content-Type: text/rfc822-headers", ""]
        var bytes = Array(lines.joined(separator: "\r\n").utf8) + Array("\r\n".utf8)
        bytes += Self.crlfLines(originalHeader.prefix(64 * 1024))
        bytes += Array("\r\n--\(boundary)--\r\n".utf8)
        return bytes
    }

    /// The per-recipient fields of RFC 3464 section 2.3.
    private func recipientFields(_ recipient: OutboundRecipientRecord) -> [String] {
        let reply = Self.oneLine(recipient.lastReply ?? "")
        var fields = [
            "Final-Recipient: rfc822; \(recipient.address)",
            "Action: failed",
            "Status: \(Self.status(of: reply))",
        ]
        if let code = reply.prefix(3).first, code == "5" || code == "4" { fields.append("Diagnostic-Code: smtp; \(reply)") }
        if let last = recipient.lastAttemptAt {
            fields.append("Last-Attempt-Date: \(RFC5322Date.format(secondsSince1970: Int(last.timeIntervalSince1970)))")
        }
        return fields
    }

    /// The enhanced status code (RFC 3463) of a reply such as `550 5.1.1 unknown`; 4.4.7
    /// (delivery time expired) when the queue gave up, 5.0.0 otherwise.
    static func status(of reply: String) -> String {
        let words = reply.split(separator: " ")
        if words.count > 1, words[0].count == 3 {
            let parts = words[1].split(separator: ".")
            if parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }), ["2", "4", "5"].contains(parts[0]) {
                return String(words[1])
            }
        }
        return reply.hasPrefix("gave up") ? "4.4.7" : "5.0.0"
    }

    private static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    /// `bytes` with every line ending CRLF, ending with one.
    private static func crlfLines(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        for byte in bytes where byte != 13 {
            if byte == 10 { out += [13, 10] } else { out.append(byte) }
        }
        if out.suffix(2) != [13, 10] { out += [13, 10] }
        return out
    }
}
