import Foundation
import PostgateIndex
import PostgateMaildir

/// A standard response as `postgate response list|show --json` prints it.
///
/// JSON keys: `name`, `subject`, `queue` (null: every agent sees it), `size`,
/// `attachments` (file names), `folder` (where agents find it over IMAP), `createdAt`,
/// `updatedAt`.
public struct ResponseRecord: Sendable, Codable, Equatable {
    public var name: String
    public var subject: String
    public var queue: String?
    public var size: Int
    public var attachments: [String]
    public var createdAt: Date
    public var updatedAt: Date
    /// The message's place: its mailbox and UID.
    public var mailboxPath: String
    public var uid: UInt32

    /// The IMAP folder agents see it in.
    public var folder: String {
        VisibleMailbox.sharedPrefix + VisibleMailbox.responsesName + (queue.map { "/" + $0 } ?? "")
    }

    /// The Maildirs of standard responses: all of them lie below this path.
    package static let mailboxRoot = "responses/"
    /// Those every agent sees.
    package static let allMailboxPath = "responses/all"
    /// Those of one queue: this prefix and the queue's name in lower case.
    package static let queueMailboxPrefix = "responses/queues/"

    package static func mailboxPath(queue: String?) -> String {
        queue.map { queueMailboxPrefix + $0.lowercased() } ?? allMailboxPath
    }

    /// A name is a letter or digit, then letters, digits, `.`, `_` or `-`, at most 64.
    public static func validateName(_ name: String) throws(StoreError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count <= 64,
              name.allSatisfy(allowed.contains) else {
            throw .invalidSetting("response name '\(name)' must be a letter or digit, then letters, digits, '.', '_' or '-' (at most 64)")
        }
    }

    package init(name: String, subject: String, queue: String?, size: Int, attachments: [String], createdAt: Date,
                 updatedAt: Date, mailboxPath: String, uid: UInt32) {
        self.name = name
        self.subject = subject
        self.queue = queue
        self.size = size
        self.attachments = attachments
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.mailboxPath = mailboxPath
        self.uid = uid
    }

    enum CodingKeys: String, CodingKey {
        case name, subject, queue, size, attachments, folder, createdAt, updatedAt, mailboxPath, uid
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        subject = try c.decode(String.self, forKey: .subject)
        queue = try c.decodeIfPresent(String.self, forKey: .queue)
        size = try c.decode(Int.self, forKey: .size)
        attachments = try c.decode([String].self, forKey: .attachments)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        updatedAt = try c.decode(Date.self, forKey: .updatedAt)
        mailboxPath = try c.decode(String.self, forKey: .mailboxPath)
        uid = try c.decode(UInt32.self, forKey: .uid)
    }

    /// Writes every key, nulls included, so scripts see a stable set of keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(subject, forKey: .subject)
        try c.encode(queue, forKey: .queue)
        try c.encode(size, forKey: .size)
        try c.encode(attachments, forKey: .attachments)
        try c.encode(folder, forKey: .folder)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(mailboxPath, forKey: .mailboxPath)
        try c.encode(uid, forKey: .uid)
    }
}

/// The standard responses' rows.
package protocol ResponseDirectory {
    func responses() throws(StoreError) -> [ResponseRecord]
    func response(named name: String) throws(StoreError) -> ResponseRecord?
    /// The mailbox of the responses of `queue` (nil: everyone's), created if missing; the
    /// queue must exist.
    func responseMailbox(queue: String?, createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed)
        throws(StoreError) -> (id: Int64, path: String, queue: String?)
    /// Records the response stored at (`mailboxID`, `uid`); replaces the row of the same name
    /// when `replacing`, returning the place of the message it named.
    func saveResponse(name: String, subject: String, queue: String?, mailboxID: Int64, uid: UInt32, size: Int,
                      attachments: [String], replacing: Bool, now: Date) throws(StoreError) -> (mailboxID: Int64, uid: UInt32)?
    /// Removes the row; returns the place of its message.
    func removeResponse(named name: String) throws(StoreError) -> (mailboxID: Int64, uid: UInt32)
}
