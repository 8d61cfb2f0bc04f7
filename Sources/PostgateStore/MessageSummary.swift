import Foundation

/// One message as IMAP lists it: UID, flags (as the asking agent sees them), size, date
/// and the envelope fields the index keeps.
public struct MessageSummary: Sendable, Equatable {
    public var uid: UInt32
    public var flags: MessageFlags
    public var size: Int
    public var internalDate: Date
    /// The Maildir base name (without `:2,` info).
    public var filename: String
    /// The Maildir letters in the file name (shared flags, without a private `\Seen`).
    var fileLetters: String
    /// The mod-sequence of its last change (CONDSTORE, RFC 7162 section 3.1.1).
    public var modSeq: UInt64
}

/// A mailbox's state for SELECT and STATUS (RFC 9051 sections 6.3.2, 6.3.11).
public struct MailboxSnapshot: Sendable, Equatable {
    public var mailboxID: Int64
    public var uidValidity: UInt32
    public var uidNext: UInt32
    /// The highest mod-sequence of the mailbox (RFC 7162 section 3.1.2.1), never 0.
    public var highestModSeq: UInt64
    /// In UID order.
    public var messages: [MessageSummary]
}
