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
    }

    /// Whether `keyword` occurs in the field of `facts`, ignoring case and diacritics.
    public func matches(_ facts: RoutingFacts) -> Bool {
        let haystack: String
        switch field {
        case .sender: haystack = facts.sender
        case .subject: haystack = facts.subject
        case .body: haystack = facts.body()
        }
        return haystack.range(of: keyword, options: [.caseInsensitive, .diacriticInsensitive]) != nil
    }
}

/// What filters look at in an inbound message. The body text is computed only if a rule
/// needs it (it may mean reading and decoding the message).
public struct RoutingFacts {
    public var sender: String
    public var subject: String
    public var body: () -> String

    public init(sender: String, subject: String, body: @escaping () -> String) {
        self.sender = sender
        self.subject = subject
        self.body = body
    }
}
