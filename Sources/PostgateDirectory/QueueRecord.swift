import PostgateMessage
import Foundation
import PostgateMaildir

/// An agents' work queue: a shared mailbox that inbound mail
/// is routed to, by an address's filters or as its default. Agents see it as an IMAP folder.
///
/// JSON keys (`postgate queue list --json`): name, description, mailboxPath, messageCount,
/// usedBy (addresses with it as default queue or in a filter), privateSeen, createdAt.
public struct QueueRecord: Sendable, Codable, Equatable {
    public var name: String
    public var description: String?
    public var mailboxPath: String
    public var messageCount: Int
    public var usedBy: [String]
    /// `\Seen` is kept per agent in the queue's IMAP folder (false: shared by all agents).
    public var privateSeen: Bool
    public var createdAt: Date

    /// The queue every address gets when none is named: created on first use.
    public static let defaultName = "general"

    /// Checks a queue name: 1 to 64 letters, digits, `_` and `-`, starting with a letter or
    /// `_`, which keeps IMAP folder names plain (no hierarchy separator, nothing to quote or encode).
    public static func validateName(_ name: String) throws(StoreError) {
        let scalars = Array(name.unicodeScalars)
        let allowed = { (s: Unicode.Scalar) in s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_" || s == "-") }
        guard (1...64).contains(scalars.count), let first = scalars.first,
              first.isASCII, first.properties.isAlphabetic || first == "_", scalars.allSatisfy(allowed) else {
            throw .invalidSetting("queue name '\(name)' must be 1 to 64 ASCII letters, digits, _ or -, starting with a letter or _")
        }
    }

    /// Where the queue's Maildir lives, relative to the data directory.
    package static func mailboxPath(for name: String) -> String { "queues/" + name.lowercased() }
}

/// An ordered routing rule of an address (an email filter): when `keyword` occurs in
/// `field`, the message goes to `queue`. The first matching rule wins; with none, the
/// address's default queue.
///
/// JSON keys: id, address, position (1 first), field, keyword, queue, createdAt.
public struct FilterRule: Sendable, Codable, Equatable {
    public var id: Int64
    public var address: String
    public var position: Int
    public var field: Field
    public var keyword: String
    public var queue: String
    public var createdAt: Date

    /// What a filter looks at.
    public enum Field: String, Sendable, Codable, CaseIterable {
        /// The envelope sender and the From field (address and display name).
        case sender
        case subject
        /// The text of the message (the decoded text parts).
        case body
        /// The To and Cc fields and the addresses the message was delivered to.
        case recipient
        /// The importance the sender marked: the keyword is high, normal or low, matched exactly.
        case importance
        /// Any header field: the keyword is `Name: text`, and `text` must occur in a field of
        /// that name (decoded, RFC 2047).
        case header
    }

    /// Whether `keyword` occurs in the field of `facts`, ignoring case and diacritics.
    public func matches(_ facts: RoutingFacts) -> Bool {
        let haystacks: [String]
        switch field {
        case .sender: haystacks = [facts.sender]
        case .subject: haystacks = [facts.subject]
        case .body: haystacks = [facts.body()]
        case .recipient: haystacks = [facts.recipients]
        case .importance: return facts.importance.rawValue == keyword.lowercased()
        case .header:
            guard let (name, text) = Self.headerKeyword(keyword) else { return false }
            return facts.header(name).contains { $0.range(of: text, options: [.caseInsensitive, .diacriticInsensitive]) != nil }
        }
        return haystacks.contains { $0.range(of: keyword, options: [.caseInsensitive, .diacriticInsensitive]) != nil }
    }

    /// A header filter's keyword split into the field name and the text (`Name: text`).
    public static func headerKeyword(_ keyword: String) -> (name: String, text: String)? {
        guard let colon = keyword.firstIndex(of: ":") else { return nil }
        let name = keyword[..<colon].trimmingCharacters(in: .whitespaces)
        let text = keyword[keyword.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !text.isEmpty, name.unicodeScalars.allSatisfy({ (33...126).contains($0.value) && $0 != ":" }) else { return nil }
        return (name, text)
    }
}

/// What filters look at in an inbound message. The body text is computed only if a rule
/// needs it (it may mean reading and decoding the message).
public struct RoutingFacts {
    public var sender: String
    public var subject: String
    public var body: () -> String
    /// The To and Cc addresses and names, and the delivered-to addresses, decoded.
    public var recipients: String
    public var importance: MessageImportance
    /// The decoded values of the header fields of a name.
    public var header: (String) -> [String]

    public init(sender: String, subject: String, body: @escaping () -> String, recipients: String = "",
                importance: MessageImportance = .normal, header: @escaping (String) -> [String] = { _ in [] }) {
        self.sender = sender
        self.subject = subject
        self.body = body
        self.recipients = recipients
        self.importance = importance
        self.header = header
    }
}
