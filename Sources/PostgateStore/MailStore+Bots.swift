import Foundation
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateMessage

/// Bots attached to addresses (`postgate bot`), and what the bot worker needs.
extension MailStore {
    /// Attaches a bot to `address` or changes it. A new bot gets a signing secret, returned
    /// once (nil when an existing bot keeps its secret).
    public func setBot(address: EmailAddress, url: String, timeout: Double, transferKeywords: [String], newSecret: Bool,
                       secretKeyPath: String? = nil, now: Date = Date()) throws(StoreError) -> (BotRecord, String?) {
        let existing = try directory.bot(of: address)
        let secret = existing == nil || newSecret ? Self.makeSigningSecret() : nil
        let sealed = try secret.map { (secret) throws(StoreError) in try secretBox(keyPath: secretKeyPath).seal(secret) }
        let record = try directory.setBot(address: address, url: url, sealedSecret: sealed, timeout: timeout,
                                          transferKeywords: transferKeywords, now: now)
        return (record, secret)
    }

    public func bot(of address: EmailAddress) throws(StoreError) -> (BotRecord, SealedSecret)? {
        try directory.bot(of: address)
    }

    public func bot(mailboxPath: String) throws(StoreError) -> (BotRecord, SealedSecret)? {
        try directory.bot(mailboxPath: mailboxPath)
    }

    public func removeBot(address: EmailAddress) throws(StoreError) {
        try directory.removeBot(address: address)
    }

    public func pendingBotTurns(limit: Int = 16) throws(StoreError) -> [BotTurn] {
        try directory.pendingBotTurns(limit: limit)
    }

    public func botTurns(address: EmailAddress?, limit: Int = 50) throws(StoreError) -> [BotTurnRecord] {
        var path: String?
        if let address {
            guard let record = try self.address(address, countingMessages: false) else { throw .addressNotFound(address) }
            path = record.mailboxPath
        }
        return try directory.botTurns(mailboxPath: path, limit: limit)
    }

    public func isHandedOver(session: Int64) throws(StoreError) -> Bool {
        try directory.isHandedOver(session: session)
    }

    /// Records the bot's decision on `turn`. When the message goes to people (hand-over,
    /// transfer keyword, no decision in time) it is first filed in the queue it was routed
    /// to, unread, like any new message; `handOver` also sends the session's next messages
    /// straight to people.
    public func finishBotTurn(_ turn: BotTurn, state: String, detail: String?, toQueue queue: String?, handOver: Bool,
                              now: Date = Date()) throws(StoreError) {
        // A session that was moved (transferred, or handed to a queue before) keeps its queue.
        var queue = queue
        if queue != nil, !handOver || queue == turn.queue, let session = turn.sessionID, let moved = try sessionPlace(session)?.queue {
            queue = moved
        }
        if let queue { try fileCopy(uid: turn.uid, from: turn.mailboxPath, to: QueueRecord.mailboxPath(for: queue)) }
        try directory.finishBotTurn(turn.id, state: state, detail: detail, handOverSession: handOver ? turn.sessionID : nil, now: now)
        // The hand-over, with the bot's note for the agents, is in the session's history, and
        // the session's next messages follow it to that queue (`followSessions`).
        if handOver, let session = turn.sessionID {
            try database.write(publishingGeneration: false) { db in
                if let queue { try db.execute(sql: "UPDATE session SET queue = ? WHERE id = ?", arguments: [queue, session]) }
                try Self.recordEvent(db, sessionID: session, at: now, kind: "handed-over", actor: "bot", toQueue: queue, detail: detail)
            }
        }
    }

    /// Copies message `uid` of the mailbox at `sourcePath` into the one at `targetPath`
    /// (one inode, a new UID, no flags), durably. Nothing happens when the message is gone.
    func fileCopy(uid: UInt32, from sourcePath: String, to targetPath: String) throws(StoreError) {
        guard let source = try index.mailbox(path: sourcePath) else { throw .mailboxNotFound(path: sourcePath) }
        guard let target = try index.mailbox(path: targetPath) else { throw .mailboxNotFound(path: targetPath) }
        let messages = try index.details(mailboxID: source.id, uids: uid...uid).map { summary in
            var unread = summary
            unread.flags = MessageFlags()
            return unread
        }
        guard !messages.isEmpty else { return }
        func visible(_ state: MailboxState) -> VisibleMailbox {
            VisibleMailbox(name: state.path, kind: .shared, mailboxID: state.id, path: state.path, specialUse: nil, privateSeen: false)
        }
        _ = try copy(messages, from: visible(source), to: visible(target), keepingQueueID: true)
    }
}
