import PostgateMessage

/// A mail provider's request to confirm that a mailbox may forward to the channel address
/// (the customer set up forwarding and the provider asks the target to approve it). Such a
/// message is for the administrator, not for agents: kept out of queues and sessions, and
/// listed by `postgate address confirmations` with its link and code.
public enum ForwardingConfirmation {
    /// Senders known to send only forwarding confirmations.
    static let knownSenders: [String: String] = [
        "forwarding-noreply@google.com": "Gmail",
    ]

    /// Phrases of confirmation subjects, lower-case.
    static let subjectPhrases = [
        "forwarding confirmation", "forwarding verification", "confirm forwarding", "verify forwarding",
        "confirm your forwarding", "verify your forwarding", "forwarding request", "weiterleitungsbestätigung",
        "confirmation de transfert",
    ]

    /// The provider (or `mail provider`) when the header is a forwarding confirmation: a
    /// known confirmation sender, or an automatic message (no `Re:`) whose subject asks to
    /// confirm forwarding.
    public static func provider(header: MessageHeader) -> String? {
        let from = HeaderAddressList.addresses("From", in: header).first
        if let from, let provider = knownSenders[from.canonical] { return provider }
        guard let raw = header["Subject"] else { return nil }
        let subject = EncodedWordDecoder.decode(raw).lowercased()
        guard !subject.hasPrefix("re:"), !subject.hasPrefix("aw:"), subjectPhrases.contains(where: subject.contains) else { return nil }
        return from.map { $0.domain.unicode } ?? "mail provider"
    }

    /// What the administrator needs from the text of a confirmation: the first https link,
    /// and a confirmation code (`(#123456789)` in the subject, or a `code: …` line).
    public static func details(subject: String?, text: String) -> (link: String?, code: String?) {
        var link: String?
        if let start = text.range(of: "https://") {
            let rest = text[start.lowerBound...]
            link = String(rest.prefix { !$0.isWhitespace && $0 != ">" && $0 != "\"" && $0 != ")" && $0 != "]" })
        }
        var code: String?
        if let subject, let open = subject.range(of: "(#"), let close = subject[open.upperBound...].firstIndex(of: ")") {
            let digits = subject[open.upperBound..<close]
            if !digits.isEmpty, digits.allSatisfy(\.isNumber) { code = String(digits) }
        }
        if code == nil {
            for line in text.split(whereSeparator: \.isNewline) {
                let lower = line.lowercased()
                guard let marker = lower.range(of: "code:") else { continue }
                let value = line[line.index(line.startIndex, offsetBy: lower.distance(from: lower.startIndex, to: marker.upperBound))...]
                    .trimmingCharacters(in: .whitespaces)
                if let word = value.split(separator: " ").first, !word.isEmpty { code = String(word) }
                break
            }
        }
        return (link, code)
    }
}
