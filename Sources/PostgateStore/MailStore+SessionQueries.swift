import Foundation
import PostgateMessage
import PostgateSessions
import PostgateMaildir
import PostgateIndex

extension MailStore {
    /// Sessions, newest activity first; only those of `address` (or the address it is an
    /// alias of) when given, only open ones (not expired at `now`) with `openOnly`.
    /// With `page`: at most `page.limit` sessions by id, newest first, older than the session
    /// `page.beforeID` when given (the API's pages).
    public func sessions(address: EmailAddress? = nil, openOnly: Bool = false, now: Date = Date(),
                         page: (beforeID: Int64?, limit: Int)? = nil) throws(StoreError) -> [SessionRecord] {
        var mailboxPath: String?
        if let address {
            guard let record = try directory.address(address, countingMessages: false) else { throw .addressNotFound(address) }
            mailboxPath = record.mailboxPath
        }
        return try index.sessions(mailboxPath: mailboxPath, openOnly: openOnly, now: now, page: page)
    }

    /// A session and its messages as a reply tree, each with a snippet of its text.
    public func sessionThread(id: Int64, now: Date = Date()) throws(StoreError) -> SessionThread {
        guard let (session, messages) = try index.session(id: id, now: now) else { throw .sessionNotFound(id) }
        let facts = messages.map { message in
            (id: SessionHeaderFacts.messageIDs(message.messageID).first,
             referenced: SessionHeaderFacts(inReplyTo: SessionHeaderFacts.messageIDs(message.inReplyTo),
                                            references: SessionHeaderFacts.messageIDs(message.references)).referencedIDs)
        }
        let entries = SessionThreadTree.arrange(facts).map { node in
            entry(messages[node.index], depth: node.depth)
        }
        return SessionThread(session: session, messages: entries, events: try sessionEvents(id))
    }

    private func entry(_ message: StoredMessage, depth: Int) -> SessionThreadEntry {
        SessionThreadEntry(
            depth: depth, uid: message.uid, mailboxPath: message.mailboxPath,
            from: message.headerFrom.map(EncodedWordDecoder.decode), date: message.date,
            subject: message.subject.map(EncodedWordDecoder.decode), messageId: message.messageID,
            reason: message.sessionReason, snippet: snippet(message))
    }

    /// One line of the message's text, or "" when its file cannot be read.
    private func snippet(_ message: StoredMessage) -> String {
        guard let path = messageFilePath(message), let root = try? MIMEParser().parse(fileAtPath: path),
              let text = try? MIMETextExtractor.text(of: root, from: MIMEFileSource(path: path), maximumBytes: 64 * 1024)
        else { return "" }
        return MIMETextExtractor.snippet(text, maximumLength: 80)
    }
}

extension MailStore {
    /// One session's record, without its messages.
    public func sessionRecord(id: Int64, now: Date = Date()) throws(StoreError) -> SessionRecord {
        guard let (session, _) = try index.session(id: id, now: now) else { throw .sessionNotFound(id) }
        return session
    }
}
