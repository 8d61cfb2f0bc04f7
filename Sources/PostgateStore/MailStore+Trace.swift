import Foundation
import PostgateIndex
import PostgateMaildir

/// One inbound message as `postgate trace` tells its story from the index: when and how it
/// was received, and each copy a delivery stored (mailbox, UID, flags now, policy label,
/// session). JSON keys as the properties; absent values are left out.
public struct TracedMessage: Sendable, Codable, Equatable {
    public struct Copy: Sendable, Codable, Equatable {
        public var mailbox: String
        public var uid: UInt32
        /// The recipient as the client gave it in `RCPT TO`.
        public var rcptTo: String
        /// The IMAP system flags as they are now (their history is not kept).
        public var flags: [String]
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
        traced(try index.messages(queueID: queueID)).first
    }

    /// Every message whose Message-ID is `messageID`, given with or without its angle
    /// brackets; copies of one delivery are one message.
    public func tracedMessages(messageID: String) throws(StoreError) -> [TracedMessage] {
        var bare = messageID.trimmingCharacters(in: .whitespaces)
        if bare.hasPrefix("<") && bare.hasSuffix(">") { bare = String(bare.dropFirst().dropLast()) }
        guard !bare.isEmpty else { return [] }
        return traced(try index.messages(messageIDs: ["<\(bare)>", bare]))
    }

    /// Groups rows by queue id (a row without one stands alone), in the order first seen.
    private func traced(_ rows: [StoredMessage]) -> [TracedMessage] {
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
        return groups.map { copies in
            let first = copies[0]
            return TracedMessage(
                queueId: first.queueID, receivedAt: first.internalDate, mailFrom: first.mailFrom, from: first.headerFrom,
                subject: first.subject, messageId: first.messageID, size: first.size,
                receivedVia: messageFilePath(first).flatMap(Self.receivedField(ofFile:)),
                copies: copies.map {
                    TracedMessage.Copy(mailbox: $0.mailboxPath, uid: $0.uid, rcptTo: $0.rcptTo, flags: Self.flagNames($0),
                                       policy: $0.policy, sessionId: $0.sessionID, sessionReason: $0.sessionReason)
                })
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
