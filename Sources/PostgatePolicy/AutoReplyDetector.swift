import Foundation
import PostgateMessage

/// Recognises automatic replies, bounces and bulk mail from the header fields and the
/// envelope sender: a pure function, no I/O.
///
/// `X-Auto-Response-Suppress` is deliberately not a marker: Outlook sets it on mail a
/// person writes, to ask others not to auto-reply to it.
public enum AutoReplyDetector {
    /// The first marker found, or nil for a message written by a person.
    /// - Parameters:
    ///   - header: the message's header fields.
    ///   - envelopeSender: the `MAIL FROM` reverse path, `""` for the null path `<>`.
    public static func marker(header: MessageHeader, envelopeSender: String) -> AutoReplyMarker? {
        autoSubmitted(header) ?? autoreplyField(header) ?? precedence(header)
            ?? sender(header, envelopeSender: envelopeSender) ?? report(header) ?? subject(header)
    }

    /// RFC 3834 section 5.1: `auto-generated`, `auto-replied`, `auto-notified` and any
    /// extension value mean automatic; only `no` means a person.
    static func autoSubmitted(_ header: MessageHeader) -> AutoReplyMarker? {
        guard let value = header["Auto-Submitted"] else { return nil }
        let keyword = firstToken(value)
        guard !keyword.isEmpty, keyword != "no" else { return nil }
        return .autoSubmitted(keyword)
    }

    static let autoreplyFieldNames = ["X-Autoreply", "X-Autorespond", "X-Autoresponder"]

    /// Present with any value but an explicit no.
    static func autoreplyField(_ header: MessageHeader) -> AutoReplyMarker? {
        for name in autoreplyFieldNames {
            guard let value = header[name] else { continue }
            if ["no", "false", "0"].contains(firstToken(value)) { continue }
            return .autoreplyField(name)
        }
        return nil
    }

    static let bulkPrecedences: Set<String> = ["bulk", "junk", "list", "auto_reply"]

    static func precedence(_ header: MessageHeader) -> AutoReplyMarker? {
        guard let value = header["Precedence"] else { return nil }
        let keyword = firstToken(value)
        return bulkPrecedences.contains(keyword) ? .precedence(keyword) : nil
    }

    static let systemLocalParts: Set<String> = ["mailer-daemon", "postmaster"]

    /// The null reverse-path, or MAILER-DAEMON / postmaster as envelope or From sender.
    static func sender(_ header: MessageHeader, envelopeSender: String) -> AutoReplyMarker? {
        let trimmed = envelopeSender.trimmingSpaces()
        if trimmed.isEmpty || trimmed == "<>" { return .nullSender }
        let candidates = [trimmed] + header.values("From")
        for text in candidates {
            for address in HeaderAddressList.addresses(in: text)
            where systemLocalParts.contains(address.localPart.lowercased()) {
                return .systemSender(address.canonical)
            }
        }
        return nil
    }

    /// `Content-Type: multipart/report` (RFC 6522): DSNs (RFC 3464) and MDNs (RFC 8098).
    static func report(_ header: MessageHeader) -> AutoReplyMarker? {
        guard let value = header["Content-Type"], firstToken(value) == "multipart/report" else { return nil }
        let reportType = value.lowercased().range(of: "report-type=").map { range in
            String(value[range.upperBound...].prefix { $0 != ";" && $0 != " " }).replacingOccurrences(of: "\"", with: "")
        }
        return .report(reportType ?? "multipart/report")
    }

    static func subject(_ header: MessageHeader) -> AutoReplyMarker? {
        guard let subject = header["Subject"] else { return nil }
        return OutOfOfficeSubjects.language(of: EncodedWordDecoder.decode(subject)).map { .outOfOfficeSubject(language: $0) }
    }

    /// The value's first word, lower case: up to `;`, `(` or white space.
    static func firstToken(_ value: String) -> String {
        String(value.trimmingSpaces().prefix { $0 != ";" && $0 != "(" && $0 != " " && $0 != "\t" }).lowercased()
    }
}
