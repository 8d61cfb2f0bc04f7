import Foundation
import PostgateMaildir

/// One message as IMAP lists it: UID, flags (as the asking agent sees them), mod-sequence,
/// and its details: size, date and file name.
///
/// A SELECT reads only what SELECT answers (`MailStore.snapshot(_:agent:details:)` with
/// `details: false`): the details are then empty (`hasDetails` false) until
/// `MailStore.details(in:uids:)` fills them for the messages a command needs.
public struct MessageSummary: Sendable, Equatable {
    public var uid: UInt32
    public var flags: MessageFlags
    public var size: Int
    public var internalDate: Date
    /// The Maildir base name (without `:2,` info); empty until the details are read.
    public var filename: String
    /// The Maildir letters in the file name (shared flags, without a private `\Seen`).
    package var fileLetters: String
    /// The mod-sequence of its last change (CONDSTORE, RFC 7162 section 3.1.1).
    public var modSeq: UInt64

    /// Size, date and file name are known (a file name is never empty).
    public var hasDetails: Bool { !filename.isEmpty }

    /// A message as the index lists it, or as another store does (one in memory, in tests).
    package init(uid: UInt32, flags: MessageFlags, size: Int, internalDate: Date, filename: String, fileLetters: String, modSeq: UInt64) {
        self.uid = uid
        self.flags = flags
        self.size = size
        self.internalDate = internalDate
        self.filename = filename
        self.fileLetters = fileLetters
        self.modSeq = modSeq
    }

    /// With the details of `other` (the same message read with its details).
    public mutating func takeDetails(of other: MessageSummary) {
        size = other.size
        internalDate = other.internalDate
        filename = other.filename
    }
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
    /// The highest UID a session has already taken as recent (RFC 3501 section 2.3.2):
    /// the messages above it are recent and no session has seen them yet.
    public var recentUID: UInt32
    /// The mod-sequence of the mailbox's latest expunge (0: none yet). Per-UID tombstones are
    /// not kept, so a QRESYNC client (RFC 7162 sections 3.2.5.1, 3.2.6) is told of expunged
    /// UIDs only when this is above the mod-sequence it knows.
    public var expungeModSeq: UInt64

    package init(
        mailboxID: Int64, uidValidity: UInt32, uidNext: UInt32, highestModSeq: UInt64, messages: [MessageSummary],
        recentUID: UInt32 = 0, expungeModSeq: UInt64 = 0
    ) {
        self.mailboxID = mailboxID
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.highestModSeq = highestModSeq
        self.messages = messages
        self.recentUID = recentUID
        self.expungeModSeq = expungeModSeq
    }

    /// The messages no session has seen as recent yet.
    public var unclaimedRecent: Int {
        messages.count { $0.uid > recentUID }
    }
}
