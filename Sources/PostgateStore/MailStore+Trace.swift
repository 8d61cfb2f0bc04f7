import Foundation
import GRDB
import PostgateIndex
import PostgateMaildir

/// One inbound message as `postgate trace` tells its story from the index: when and how it
/// was received, and each copy a delivery stored (mailbox, UID, flags now, policy label,
/// session). JSON keys as the properties; absent values are left out.
public struct TracedMessage: Sendable, Codable, Equatable {
    /// One IMAP flag change (STORE, or a flag set by a client's COPY target): when, by which
    /// agent, the flags and keywords added and removed.
    public struct FlagChange: Sendable, Codable, Equatable {
        public var at: Date
        public var agent: String?
        public var added: [String]
        public var removed: [String]
    }

    public struct Copy: Sendable, Codable, Equatable {
        public var mailbox: String
        public var uid: UInt32
        /// The recipient as the client gave it in `RCPT TO`.
        public var rcptTo: String
        /// The IMAP system flags as they are now.
        public var flags: [String]
        /// Each change of its flags over IMAP, oldest first.
        public var flagChanges: [FlagChange] = []
        /// The inbound policy's label; absent for an ordinary message.
        public var policy: String?
        public var sessionId: Int64?
        /// Which rule put it in its session (`SessionMatchReason`).
        public var sessionReason: String?
    }

    /// The id of the SMTP `250 Ok: queued as` reply (or of the fetch); absent for a message
    /// APPENDed or copied by IMAP, or stored before queue ids were kept.
    public var queueId: String?
    public var receivedAt: Date
    /// The envelope sender (`MAIL FROM`, or a fetched message's Return-Path); empty for `<>`.
    public var mailFrom: String
    public var from: String?
    public var subject: String?
    public var messageId: String?
    public var size: Int
    /// The Received field Postgate added: the client and its HELO name and the protocol, or
    /// the server a receiving gateway fetched it from.
    public var receivedVia: String?
    public var copies: [Copy]

    /// The sessions of its copies, each once.
    public var sessionIds: [Int64] {
        var seen = Set<Int64>()
        return copies.compactMap(\.sessionId).filter { seen.insert($0).inserted }
    }
}

extension MailStore {
    /// The message delivered under `queueID`; nil when no copy of it is in the index (an
    /// unknown id, or every copy expunged).
    public func tracedMessage(queueID: String) throws(StoreError) -> TracedMessage? {
        try traced(try index.messages(queueID: queueID)).first
    }

    /// Every message whose Message-ID is `messageID`, given with or without its angle
    /// brackets; copies of one delivery are one message.
    public func tracedMessages(messageID: String) throws(StoreError) -> [TracedMessage] {
        var bare = messageID.trimmingCharacters(in: .whitespaces)
        if bare.hasPrefix("<") && bare.hasSuffix(">") { bare = String(bare.dropFirst().dropLast()) }
        guard !bare.isEmpty else { return [] }
        return try traced(try index.messages(messageIDs: ["<\(bare)>", bare]))
    }

    /// Groups rows by queue id (a row without one stands alone), in the order first seen.
    private func traced(_ rows: [StoredMessage]) throws(StoreError) -> [TracedMessage] {
        var groups: [[StoredMessage]] = []
        var byQueueID: [String: Int] = [:]
        for row in rows {
            if let id = row.queueID, let at = byQueueID[id] {
                groups[at].append(row)
            } else {
                if let id = row.queueID { byQueueID[id] = groups.count }
                groups.append([row])
            }
        }
        return try groups.map { copies throws(StoreError) in
            let first = copies[0]
            return TracedMessage(
                queueId: first.queueID, receivedAt: first.internalDate, mailFrom: first.mailFrom, from: first.headerFrom,
                subject: first.subject, messageId: first.messageID, size: first.size,
                receivedVia: messageFilePath(first).flatMap(Self.receivedField(ofFile:)),
                copies: try copies.map { copy throws(StoreError) in
                    TracedMessage.Copy(mailbox: copy.mailboxPath, uid: copy.uid, rcptTo: copy.rcptTo, flags: Self.flagNames(copy),
                                       flagChanges: try flagChanges(mailboxID: copy.mailboxID, uid: copy.uid),
                                       policy: copy.policy, sessionId: copy.sessionID, sessionReason: copy.sessionReason)
                })
        }
    }

    /// The recorded flag changes of one message, oldest first.
    private func flagChanges(mailboxID: Int64, uid: UInt32) throws(StoreError) -> [TracedMessage.FlagChange] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT e.at, e.added, e.removed, agent.name FROM message_flag_event e LEFT JOIN agent ON agent.id = e.agent_id
                WHERE e.mailbox_id = ? AND e.uid = ? ORDER BY e.id
                """, arguments: [mailboxID, uid]).map { row in
                TracedMessage.FlagChange(at: Date(timeIntervalSince1970: row["at"]), agent: row["name"],
                                         added: (row["added"] as String).split(separator: " ").map(String.init),
                                         removed: (row["removed"] as String).split(separator: " ").map(String.init))
            }
        }
    }

    private static func flagNames(_ message: StoredMessage) -> [String] {
        let names: [Character: String] = ["D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"]
        return message.flags.compactMap { names[$0] }
    }

    /// The first Received field that names Postgate, unfolded, from the first 8 KiB of the
    /// file; nil when there is none.
    static func receivedField(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 8192) else { return nil }
        var field: String?
        // Split on the bytes: in a Swift string CR LF is one character, which no "\n" matches.
        for line in head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let text = String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...], as: UTF8.self)
            if text.isEmpty { break }
            if let current = field, text.first == " " || text.first == "\t" {
                field = current + " " + text.trimmingCharacters(in: .whitespaces)
                continue
            }
            if let current = field, current.contains("(Postgate)") { return current }
            field = text.lowercased().hasPrefix("received:") ? text.dropFirst("received:".count).trimmingCharacters(in: .whitespaces) : nil
        }
        return field.flatMap { $0.contains("(Postgate)") ? $0 : nil }
    }
}
