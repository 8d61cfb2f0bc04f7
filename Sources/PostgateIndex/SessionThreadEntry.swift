import Foundation

/// One message of a session as `postgate session show` prints it: where it sits in the
/// reply tree, who sent it, when, and a one-line snippet of its text.
///
/// JSON keys: `depth`, `uid`, `mailboxPath`, `from`, `date`, `subject`, `messageId`,
/// `reason` (which layer joined it: `SessionMatchReason`), `snippet`.
public struct SessionThreadEntry: Sendable, Codable, Equatable {
    public var depth: Int
    public var uid: UInt32
    public var mailboxPath: String
    public var from: String?
    public var date: String?
    public var subject: String?
    public var messageId: String?
    public var reason: String?
    public var snippet: String

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(depth, forKey: .depth)
        try container.encode(uid, forKey: .uid)
        try container.encode(mailboxPath, forKey: .mailboxPath)
        try container.encode(from, forKey: .from)
        try container.encode(date, forKey: .date)
        try container.encode(subject, forKey: .subject)
        try container.encode(messageId, forKey: .messageId)
        try container.encode(reason, forKey: .reason)
        try container.encode(snippet, forKey: .snippet)
    }

    package init(depth: Int, uid: UInt32, mailboxPath: String, from: String?, date: String?, subject: String?, messageId: String?, reason: String?, snippet: String) {
        self.depth = depth
        self.uid = uid
        self.mailboxPath = mailboxPath
        self.from = from
        self.date = date
        self.subject = subject
        self.messageId = messageId
        self.reason = reason
        self.snippet = snippet
    }
}

/// A session with its messages as a tree (`postgate session show --json`): keys `session`
/// (a `SessionRecord`) and `messages` (`SessionThreadEntry`, depth-first).
public struct SessionThread: Sendable, Codable, Equatable {
    public var session: SessionRecord
    public var messages: [SessionThreadEntry]
    /// Who worked the session and where, oldest first.
    public var events: [SessionEventRecord]

    package init(session: SessionRecord, messages: [SessionThreadEntry], events: [SessionEventRecord] = []) {
        self.session = session
        self.messages = messages
        self.events = events
    }
}
