import PostgatePolicy

/// The flags of a message: IMAP system flags kept as Maildir info letters (so `mutt` and
/// Dovecot read them from the file name) and IMAP keywords kept in the index.
///
/// Maildir letters (https://cr.yp.to/proto/maildir.html): D draft, F flagged,
/// P passed, R replied, S seen, T trashed; IMAP (RFC 9051 section 2.3.2): `\Draft`,
/// `\Flagged`, `$Forwarded`, `\Answered`, `\Seen`, `\Deleted`.
public struct MessageFlags: Sendable, Hashable {
    /// Maildir info letters, sorted, each at most once.
    public private(set) var letters: String
    /// Keywords (case preserved, compared without case), sorted.
    public private(set) var keywords: [String]

    package static let letterNames: [(Character, String)] = [
        ("D", "\\Draft"), ("F", "\\Flagged"), ("P", "$Forwarded"), ("R", "\\Answered"), ("S", "\\Seen"), ("T", "\\Deleted"),
    ]

    public init(letters: String = "", keywords: [String] = []) {
        guard !letters.isEmpty || !keywords.isEmpty else {
            self.letters = ""
            self.keywords = []
            return
        }
        self.letters = String(Set(letters.filter { c in Self.letterNames.contains { $0.0 == c } }).sorted())
        var seen = Set<String>()
        self.keywords = keywords.filter { !$0.isEmpty && seen.insert($0.lowercased()).inserted }.sorted()
    }

    /// From IMAP flag names; `\Recent` and unknown system flags are ignored.
    public init(imapNames: [String]) {
        var letters = ""
        var keywords: [String] = []
        for name in imapNames {
            if let letter = Self.letterNames.first(where: { $0.1.lowercased() == name.lowercased() })?.0 {
                letters.append(letter)
            } else if !name.hasPrefix("\\") {
                keywords.append(name)
            }
        }
        self.init(letters: letters, keywords: keywords)
    }

    /// The IMAP names: system flags first, then keywords.
    public var imapNames: [String] {
        guard !letters.isEmpty || !keywords.isEmpty else { return [] }
        return Self.letterNames.filter { letters.contains($0.0) }.map(\.1) + keywords
    }

    public var isSeen: Bool { letters.contains("S") }
    public var isDeleted: Bool { letters.contains("T") }

    public func union(_ other: MessageFlags) -> MessageFlags {
        MessageFlags(letters: letters + other.letters, keywords: keywords + other.keywords)
    }

    public func subtracting(_ other: MessageFlags) -> MessageFlags {
        let removed = Set(other.keywords.map { $0.lowercased() })
        return MessageFlags(letters: letters.filter { !other.letters.contains($0) },
                            keywords: keywords.filter { !removed.contains($0.lowercased()) })
    }

    /// With `\Seen` set or cleared.
    public func settingSeen(_ seen: Bool) -> MessageFlags {
        seen ? union(MessageFlags(letters: "S")) : subtracting(MessageFlags(letters: "S"))
    }

    /// The keywords a delivery gives a message (RFC 9051 section 2.3.2), so agents can see
    /// and search them: why the inbound policy kept it out of a queue (`$Blocked` for
    /// `blocked`, `$AutoReply` for `auto-reply`), and the importance its sender marked
    /// (`$Important` for high, RFC 8457 section 3; `$LowImportance` for low).
    package static func keywords(forPolicy label: String?, importance: String? = nil) -> String {
        var keywords: [String] = []
        switch label {
        case PolicyVerdict.blockedLabel: keywords.append("$Blocked")
        case PolicyVerdict.autoReplyLabel: keywords.append("$AutoReply")
        case PolicyVerdict.forwardingConfirmationLabel: keywords.append("$ForwardingConfirmation")
        case PolicyVerdict.forwardingCheckLabel: keywords.append("$ForwardingCheck")
        default: break
        }
        switch importance {
        case "high": keywords.append("$Important")
        case "low": keywords.append("$LowImportance")
        default: break
        }
        return keywords.joined(separator: " ")
    }

    /// Keywords as the index stores them: space-separated.
    package var storedKeywords: String { keywords.joined(separator: " ") }

    package init(letters: String, storedKeywords: String) {
        self.init(letters: letters, keywords: storedKeywords.isEmpty ? [] : storedKeywords.split(separator: " ").map(String.init))
    }
}
