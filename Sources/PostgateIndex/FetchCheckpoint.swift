import Foundation
import PostgateMaildir

/// What importing one message from a receiving gateway records, in the transaction that
/// stores the message (or alone, for a message that is not stored): which remote message
/// it was, so the next fetch neither loses nor repeats it.
///
/// IMAP identifies a message by UIDVALIDITY and UID (RFC 9051 section 2.3.1.1): the
/// folder's checkpoint advances to `uid`. POP3 identifies it by its UIDL (RFC 1939
/// section 7): the id joins the fetched set.
public struct FetchCheckpoint: Sendable, Equatable {
    public enum Position: Sendable, Equatable {
        /// `safeUID`: every message of the folder up to it was stored or skipped (known
        /// when this one was fetched; messages may commit in any order).
        case imap(uidValidity: UInt32, uid: UInt32, safeUID: UInt32)
        case pop3(uidl: String)
        /// A Microsoft Graph message by its immutable id. `link` is where the folder's delta
        /// query resumes once this message is in: the page it was listed on, or for the last
        /// message of a round, the round's `@odata.deltaLink`. `actionPending`: the
        /// after-fetch action (mark read, move) is still to be applied on the server.
        case graph(messageID: String, link: String, actionPending: Bool)
    }

    public enum Outcome: String, Sendable, Equatable {
        /// Stored in at least one mailbox.
        case stored
        /// Every mailbox held it already (same Message-ID and content): nothing stored.
        case duplicate
        /// Not stored: too large, unreadable or unparsable; `reason` says why.
        case skipped
    }

    public var gatewayID: Int64
    /// The remote folder (IMAP); empty for POP3's single maildrop.
    public var folder: String
    public var position: Position

    public init(gatewayID: Int64, folder: String, position: Position) {
        self.gatewayID = gatewayID
        self.folder = folder
        self.position = position
    }

    /// The id in `gateway_fetched`: the UIDL, or `UIDVALIDITY.UID`.
    public var remoteID: String {
        switch position {
        case .imap(let validity, let uid, _): "\(validity).\(uid)"
        case .pop3(let uidl): uidl
        case .graph(let id, _, _): id
        }
    }
}

/// A receiving gateway's IMAP checkpoint in one folder.
public struct FolderCheckpoint: Sendable, Equatable, Codable {
    public var uidValidity: UInt32
    /// The highest UID imported (or skipped).
    public var lastUID: UInt32
    /// Every message with a UID up to this one was imported (or skipped); above it, up to
    /// `lastUID`, the fetched records say which were.
    public var safeUID: UInt32
    /// Every message up to this one is in and had the after-fetch action applied on the
    /// server; the catch-up of interrupted actions starts above it.
    public var actedUID: UInt32

    public init(uidValidity: UInt32, lastUID: UInt32, safeUID: UInt32, actedUID: UInt32 = 0) {
        self.uidValidity = uidValidity
        self.lastUID = lastUID
        self.safeUID = safeUID
        self.actedUID = actedUID
    }
}

/// The live state of a receiving gateway, as `postgate connector status` shows it.
public struct GatewayLiveState: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Connected, fetching or waiting in IDLE.
        case connected
        /// Between polls, the last attempt having succeeded.
        case idle
        /// The last attempt failed; `tries` of the maximum used.
        case failing
        /// `maxTries` failures in a row: resting until `coolingUntil`.
        case coolingOff = "cooling-off"
        /// Inside a skip window.
        case skipped
        /// Failed again after a cool-off: waits for the administrator.
        case failed
    }

    public var state: State
    /// Consecutive failed attempts.
    public var tries: Int = 0
    public var lastError: String?
    public var coolingUntil: Date?
    public var lastAttemptAt: Date?
    public var lastSuccessAt: Date?
    /// Messages stored (or recognised as already stored) since the gateway was created.
    public var fetched: Int = 0
    /// Messages skipped (too large, unreadable) since the gateway was created.
    public var skipped: Int = 0
    /// When the row was last written.
    public var updatedAt: Date?

    public init(state: State) {
        self.state = state
    }

    private enum CodingKeys: String, CodingKey {
        case state, tries, lastError, coolingUntil, lastAttemptAt, lastSuccessAt, fetched, skipped, updatedAt
    }

    /// Writes every key, `null` for absent values, so scripts see a stable set of keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(tries, forKey: .tries)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(coolingUntil, forKey: .coolingUntil)
        try c.encode(lastAttemptAt, forKey: .lastAttemptAt)
        try c.encode(lastSuccessAt, forKey: .lastSuccessAt)
        try c.encode(fetched, forKey: .fetched)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A remote message a gateway did not store, and why.
public struct SkippedRemoteMessage: Sendable, Equatable, Codable {
    public var folder: String
    /// The POP3 UIDL, or the IMAP `UIDVALIDITY.UID`.
    public var remoteID: String
    public var reason: String
    public var at: Date

    public init(folder: String, remoteID: String, reason: String, at: Date) {
        self.folder = folder
        self.remoteID = remoteID
        self.reason = reason
        self.at = at
    }
}

/// The fetch bookkeeping of receiving gateways, next to the message index so that a
/// checkpoint commits with the message it records.
package protocol FetchLedger: Sendable {
    /// Records `checkpoint` alone: a message not stored (skipped, with `reason`).
    func record(_ checkpoint: FetchCheckpoint, outcome: FetchCheckpoint.Outcome, reason: String?) throws(StoreError)
    /// The IMAP checkpoint of a gateway's folder, nil before the first import.
    func folderCheckpoint(gatewayID: Int64, folder: String) throws(StoreError) -> FolderCheckpoint?
    /// Starts a folder over under a new UIDVALIDITY (RFC 9051 section 2.3.1.1): the
    /// checkpoint is reset to `uidValidity` with nothing imported. Messages imported under
    /// the old one are recognised again by Message-ID and content, and not stored twice.
    func resetFolder(gatewayID: Int64, folder: String, uidValidity: UInt32) throws(StoreError)
    /// The UIDs in `range` imported or skipped under `uidValidity` (IMAP); with
    /// `importedOnly`, those stored or found already stored.
    func fetchedUIDs(gatewayID: Int64, folder: String, uidValidity: UInt32, in range: ClosedRange<UInt32>,
                     importedOnly: Bool) throws(StoreError) -> Set<UInt32>
    /// Raises a folder's `safeUID` and `actedUID` (never lowers them) once every message up
    /// to `uid` is in and had its after-fetch action, and deletes the fetched records the
    /// checkpoint now covers, in the same transaction.
    func advanceSafeUID(gatewayID: Int64, folder: String, uidValidity: UInt32, to uid: UInt32) throws(StoreError)
    /// The remote ids already imported or skipped in a folder (POP3 UIDLs), with how.
    func fetchedRemoteIDs(gatewayID: Int64, folder: String) throws(StoreError) -> [String: FetchCheckpoint.Outcome]
    /// Forgets remote ids no longer on the server, so the fetched set stays as large as
    /// the maildrop.
    func forgetRemoteIDs(_ ids: Set<String>, gatewayID: Int64, folder: String) throws(StoreError)
    /// Where a Graph folder's delta query resumes; nil before its first round.
    func deltaLink(gatewayID: Int64, folder: String) throws(StoreError) -> String?
    /// Every stored Graph resume point of a gateway (delta links by folder, a group's
    /// thread checkpoints by thread), by folder.
    func deltaLinks(gatewayID: Int64) throws(StoreError) -> [String: String]
    /// Records where a Graph folder's delta query resumes (nil: start over).
    func setDeltaLink(_ link: String?, gatewayID: Int64, folder: String) throws(StoreError)
    /// Fetched messages of a folder whose after-fetch action is still to be applied.
    func pendingActions(gatewayID: Int64, folder: String, limit: Int) throws(StoreError) -> [String]
    /// The after-fetch action of these messages is done (or no longer possible).
    func actionsDone(_ ids: [String], gatewayID: Int64, folder: String) throws(StoreError)
    /// Every IMAP folder checkpoint of a gateway, by folder.
    func folderCheckpoints(gatewayID: Int64) throws(StoreError) -> [String: FolderCheckpoint]
    /// The messages a gateway skipped, newest first, at most `limit`.
    func skippedMessages(gatewayID: Int64, limit: Int) throws(StoreError) -> [SkippedRemoteMessage]
    /// The live state of a gateway; nil before its first attempt.
    func liveState(gatewayID: Int64) throws(StoreError) -> GatewayLiveState?
    /// Replaces the live state of a gateway; `fetched` and `skipped` are not taken from
    /// `state`: they count the checkpoints recorded, in the same transactions.
    func setLiveState(_ state: GatewayLiveState, gatewayID: Int64) throws(StoreError)
}
