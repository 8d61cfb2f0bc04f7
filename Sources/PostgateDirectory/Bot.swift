import Foundation
import PostgateMaildir
import PostgateMessage

/// A bot attached to a channel address: each customer message of a session the bot holds
/// is sent to it, and it answers with a reply, a hand-over to people, or nothing.
///
/// JSON keys: `address`, `url`, `timeout`, `transferKeywords`, `createdAt` (never the secret).
public struct BotRecord: Sendable, Codable, Equatable {
    public var address: String
    public var url: String
    /// Seconds the bot has to decide; then the message goes to the queue.
    public var timeout: Double
    /// Words or phrases that send a message to people at once, without asking the bot
    /// (compared without case, in the subject and the text).
    public var transferKeywords: [String]
    public var createdAt: Date
}

/// What the delivery path needs to know of an address's bot.
public struct BotHoldSettings: Sendable, Equatable {
    public var transferKeywords: [String]
}

/// A customer message a bot is to decide on.
public struct BotTurn: Sendable, Equatable {
    public var id: Int64
    public var eventID: String
    public var mailboxPath: String
    public var uid: UInt32
    public var sessionID: Int64?
    public var queue: String?
    public var createdAt: Date
    /// The message's queue id, for the log lines about the decision.
    public var queueID: String? = nil
}

/// One decision, as `postgate bot log` lists it.
///
/// JSON keys: `id`, `eventId`, `mailbox`, `uid`, `sessionId`, `state` (pending, replied,
/// handed-over, queued), `detail`, `createdAt`, `decidedAt`.
public struct BotTurnRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var eventId: String
    public var mailbox: String
    public var uid: UInt32
    public var sessionId: Int64?
    public var state: String
    public var detail: String?
    public var createdAt: Date
    public var decidedAt: Date?
}

package protocol BotDirectory {
    func setBot(address: EmailAddress, url: String, sealedSecret: SealedSecret?, timeout: Double, transferKeywords: [String], now: Date) throws(StoreError) -> BotRecord
    func bot(of address: EmailAddress) throws(StoreError) -> (BotRecord, SealedSecret)?
    func bot(mailboxPath: String) throws(StoreError) -> (BotRecord, SealedSecret)?
    func removeBot(address: EmailAddress) throws(StoreError)
    func botHoldSettings(mailboxID: Int64) throws(StoreError) -> BotHoldSettings?
    func pendingBotTurns(limit: Int) throws(StoreError) -> [BotTurn]
    func finishBotTurn(_ id: Int64, state: String, detail: String?, handOverSession: Int64?, now: Date) throws(StoreError)
    func botTurns(mailboxPath: String?, limit: Int) throws(StoreError) -> [BotTurnRecord]
    func isHandedOver(session: Int64) throws(StoreError) -> Bool
}
