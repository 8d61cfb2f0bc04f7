import Crypto
import PostgateMaildir
import PostgateIndex

/// IMAP's object identifiers (RFC 8474): opaque, stable names of a mailbox (MAILBOXID), a
/// message's content (EMAILID) and its conversation (THREADID).
///
/// Each is a letter and 24 hex digits of a SHA-256 digest (`objectid`, section 8: letters,
/// digits, `-` and `_`), so that no identifier shows a host name, a process id or a count
/// of mailboxes (section 9).
/// - MAILBOXID: of the mailbox row id, which is never handed out twice, and its UIDVALIDITY:
///   it stays through RENAME (section 4) and changes when the mailbox is made anew.
/// - EMAILID: of the unique name of the file the message was first stored as, which COPY
///   and MOVE carry to the new row (section 5.1).
/// - THREADID: of the message's session, the conversation Postgate keeps (section 5.2);
///   none (NIL) for a message in no session.
public enum ObjectIDs {
    public static func mailbox(id: Int64, uidValidity: UInt32) -> String {
        "F" + digest("mailbox \(id) \(uidValidity)")
    }

    public static func email(_ keys: MessageObjectKeys) -> String {
        "M" + digest("email " + keys.emailKey)
    }

    public static func thread(_ keys: MessageObjectKeys) -> String? {
        keys.sessionID.map { "T" + digest("session \($0)") }
    }

    private static func digest(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).prefix(12).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension MailStore {
    /// What the object identifiers of the messages of `mailbox` with UIDs in `uids` are made of.
    public func objectKeys(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: MessageObjectKeys] {
        try index.objectKeys(mailboxID: mailbox.mailboxID, uids: uids)
    }
}
