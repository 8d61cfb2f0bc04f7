import Foundation
import GRDB
import PostgateMaildir

extension SQLiteMessageIndex {
    package func record(_ checkpoint: FetchCheckpoint, outcome: FetchCheckpoint.Outcome, reason: String?) throws(StoreError) {
        try database.write { db in
            try Self.write(db, checkpoint, outcome: outcome, reason: reason)
        }
    }

    /// The checkpoint's rows, in the caller's transaction: the remote id as fetched, the
    /// folder's IMAP position, and the gateway's counters.
    static func write(_ db: Database, _ checkpoint: FetchCheckpoint, outcome: FetchCheckpoint.Outcome, reason: String?) throws {
        let now = Date().timeIntervalSince1970
        var actionPending = false
        if case .graph(_, let link, let pending) = checkpoint.position {
            actionPending = pending && outcome != .skipped
            try db.execute(cachedSQL: """
                INSERT OR REPLACE INTO gateway_delta (gateway_id, folder, link, updated_at) VALUES (?, ?, ?, ?)
                """, arguments: [checkpoint.gatewayID, checkpoint.folder, link, now])
        }
        try db.execute(cachedSQL: """
            INSERT OR REPLACE INTO gateway_fetched (gateway_id, folder, remote_id, outcome, reason, fetched_at, action_pending)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [checkpoint.gatewayID, checkpoint.folder, checkpoint.remoteID, outcome.rawValue, reason, now, actionPending])
        if case .imap(let validity, let uid, let safe) = checkpoint.position {
            // Only forward: a checkpoint never moves back within one UIDVALIDITY.
            try db.execute(cachedSQL: """
                INSERT INTO gateway_folder (gateway_id, folder, uid_validity, last_uid, safe_uid) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (gateway_id, folder) DO UPDATE SET
                    last_uid = CASE WHEN uid_validity = excluded.uid_validity THEN max(last_uid, excluded.last_uid)
                                    ELSE excluded.last_uid END,
                    safe_uid = CASE WHEN uid_validity = excluded.uid_validity THEN max(safe_uid, excluded.safe_uid)
                                    ELSE excluded.safe_uid END,
                    uid_validity = excluded.uid_validity
                """, arguments: [checkpoint.gatewayID, checkpoint.folder, validity, uid, min(safe, uid)])
        }
        let column = outcome == .skipped ? "skipped" : "fetched"
        try db.execute(sql: """
            INSERT INTO gateway_state (gateway_id, state, \(column), updated_at) VALUES (?, 'connected', 1, ?)
            ON CONFLICT (gateway_id) DO UPDATE SET \(column) = \(column) + 1, updated_at = excluded.updated_at
            """, arguments: [checkpoint.gatewayID, now])
    }

    package func folderCheckpoint(gatewayID: Int64, folder: String) throws(StoreError) -> FolderCheckpoint? {
        try database.read { db in
            try Row.fetchOne(db, cachedSQL: "SELECT uid_validity, last_uid, safe_uid, acted_uid FROM gateway_folder WHERE gateway_id = ? AND folder = ?",
                             arguments: [gatewayID, folder])
                .map { FolderCheckpoint(uidValidity: $0[0], lastUID: $0[1], safeUID: $0[2], actedUID: $0[3]) }
        }
    }

    package func resetFolder(gatewayID: Int64, folder: String, uidValidity: UInt32) throws(StoreError) {
        try database.write { db in
            try db.execute(cachedSQL: """
                INSERT OR REPLACE INTO gateway_folder (gateway_id, folder, uid_validity, last_uid, safe_uid, acted_uid) VALUES (?, ?, ?, 0, 0, 0)
                """, arguments: [gatewayID, folder, uidValidity])
            try db.execute(cachedSQL: "DELETE FROM gateway_fetched WHERE gateway_id = ? AND folder = ?", arguments: [gatewayID, folder])
        }
    }

    package func fetchedUIDs(gatewayID: Int64, folder: String, uidValidity: UInt32, in range: ClosedRange<UInt32>,
                             importedOnly: Bool) throws(StoreError) -> Set<UInt32> {
        try database.read { db in
            var uids: Set<UInt32> = []
            // Remote ids are `UIDVALIDITY.UID`: a range scan of this UIDVALIDITY's rows.
            let prefix = "\(uidValidity)."
            for row in try Row.fetchAll(db, cachedSQL: """
                SELECT remote_id, outcome FROM gateway_fetched WHERE gateway_id = ? AND folder = ? AND remote_id >= ? AND remote_id < ?
                """, arguments: [gatewayID, folder, prefix, "\(uidValidity)/"]) {
                let id: String = row[0]
                guard let uid = UInt32(id.dropFirst(prefix.count)), range.contains(uid) else { continue }
                if importedOnly, (row[1] as String) == FetchCheckpoint.Outcome.skipped.rawValue { continue }
                uids.insert(uid)
            }
            return uids
        }
    }

    package func advanceSafeUID(gatewayID: Int64, folder: String, uidValidity: UInt32, to uid: UInt32) throws(StoreError) {
        try database.write { db in
            try db.execute(cachedSQL: """
                UPDATE gateway_folder SET safe_uid = max(safe_uid, ?), last_uid = max(last_uid, ?), acted_uid = max(acted_uid, ?)
                WHERE gateway_id = ? AND folder = ? AND uid_validity = ?
                """, arguments: [uid, uid, uid, gatewayID, folder, uidValidity])
            // The records the checkpoint now covers: nothing reads them again (fetching starts
            // above `safe_uid`, the catch-up above `acted_uid`). Skipped ones stay for the
            // status and its reasons.
            let prefix = "\(uidValidity)."
            try db.execute(cachedSQL: """
                DELETE FROM gateway_fetched
                WHERE gateway_id = ? AND folder = ? AND remote_id >= ? AND remote_id < ? AND outcome != 'skipped'
                  AND CAST(substr(remote_id, ?) AS INTEGER) <= (
                      SELECT min(safe_uid, acted_uid) FROM gateway_folder WHERE gateway_id = ? AND folder = ? AND uid_validity = ?)
                """, arguments: [gatewayID, folder, prefix, "\(uidValidity)/", prefix.count + 1, gatewayID, folder, uidValidity])
        }
    }

    package func fetchedRemoteIDs(gatewayID: Int64, folder: String) throws(StoreError) -> [String: FetchCheckpoint.Outcome] {
        try database.read { db in
            var ids: [String: FetchCheckpoint.Outcome] = [:]
            for row in try Row.fetchAll(db, cachedSQL: "SELECT remote_id, outcome FROM gateway_fetched WHERE gateway_id = ? AND folder = ?",
                                        arguments: [gatewayID, folder]) {
                ids[row[0]] = FetchCheckpoint.Outcome(rawValue: row[1]) ?? .stored
            }
            return ids
        }
    }

    package func forgetRemoteIDs(_ ids: Set<String>, gatewayID: Int64, folder: String) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try database.write { db in
            for id in ids {
                try db.execute(cachedSQL: "DELETE FROM gateway_fetched WHERE gateway_id = ? AND folder = ? AND remote_id = ?",
                               arguments: [gatewayID, folder, id])
            }
        }
    }

    /// Where a Graph folder's delta query resumes; nil before its first round.
    package func deltaLink(gatewayID: Int64, folder: String) throws(StoreError) -> String? {
        try database.read { db in
            try String.fetchOne(db, cachedSQL: "SELECT link FROM gateway_delta WHERE gateway_id = ? AND folder = ?", arguments: [gatewayID, folder])
        }
    }

    package func deltaLinks(gatewayID: Int64) throws(StoreError) -> [String: String] {
        try database.read { db in
            var links: [String: String] = [:]
            for row in try Row.fetchAll(db, cachedSQL: "SELECT folder, link FROM gateway_delta WHERE gateway_id = ?", arguments: [gatewayID]) {
                links[row[0]] = row[1]
            }
            return links
        }
    }

    /// Records where a Graph folder's delta query resumes (a round that ended without a
    /// message to carry the link); nil forgets it, so the next round starts over.
    package func setDeltaLink(_ link: String?, gatewayID: Int64, folder: String) throws(StoreError) {
        try database.write { db in
            if let link {
                try db.execute(cachedSQL: "INSERT OR REPLACE INTO gateway_delta (gateway_id, folder, link, updated_at) VALUES (?, ?, ?, ?)",
                               arguments: [gatewayID, folder, link, Date().timeIntervalSince1970])
            } else {
                try db.execute(cachedSQL: "DELETE FROM gateway_delta WHERE gateway_id = ? AND folder = ?", arguments: [gatewayID, folder])
            }
        }
    }

    /// The fetched messages of a folder whose after-fetch action is still to be applied.
    package func pendingActions(gatewayID: Int64, folder: String, limit: Int) throws(StoreError) -> [String] {
        try database.read { db in
            try String.fetchAll(db, cachedSQL: """
                SELECT remote_id FROM gateway_fetched WHERE gateway_id = ? AND folder = ? AND action_pending = 1 LIMIT ?
                """, arguments: [gatewayID, folder, limit])
        }
    }

    /// The after-fetch action of these messages is done (or no longer possible).
    package func actionsDone(_ ids: [String], gatewayID: Int64, folder: String) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try database.write { db in
            for id in ids {
                try db.execute(cachedSQL: "UPDATE gateway_fetched SET action_pending = 0 WHERE gateway_id = ? AND folder = ? AND remote_id = ?",
                               arguments: [gatewayID, folder, id])
            }
        }
    }

    package func folderCheckpoints(gatewayID: Int64) throws(StoreError) -> [String: FolderCheckpoint] {
        try database.read { db in
            var result: [String: FolderCheckpoint] = [:]
            for row in try Row.fetchAll(db, cachedSQL: "SELECT folder, uid_validity, last_uid, safe_uid, acted_uid FROM gateway_folder WHERE gateway_id = ?",
                                        arguments: [gatewayID]) {
                result[row[0]] = FolderCheckpoint(uidValidity: row[1], lastUID: row[2], safeUID: row[3], actedUID: row[4])
            }
            return result
        }
    }

    package func skippedMessages(gatewayID: Int64, limit: Int) throws(StoreError) -> [SkippedRemoteMessage] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT folder, remote_id, reason, fetched_at FROM gateway_fetched
                WHERE gateway_id = ? AND outcome = 'skipped' ORDER BY fetched_at DESC LIMIT ?
                """, arguments: [gatewayID, limit]).map { row in
                SkippedRemoteMessage(folder: row[0], remoteID: row[1], reason: row[2] ?? "", at: Date(timeIntervalSince1970: row[3]))
            }
        }
    }

    package func liveState(gatewayID: Int64) throws(StoreError) -> GatewayLiveState? {
        try database.read { db in
            try Row.fetchOne(db, cachedSQL: "SELECT * FROM gateway_state WHERE gateway_id = ?", arguments: [gatewayID])
                .map { GatewayLiveState(row: $0, updatedAtColumn: "updated_at") }
        }
    }

    package func setLiveState(_ state: GatewayLiveState, gatewayID: Int64) throws(StoreError) {
        try database.write { db in
            try db.execute(cachedSQL: """
                INSERT INTO gateway_state (gateway_id, state, tries, last_error, cooling_until, last_attempt_at, last_success_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (gateway_id) DO UPDATE SET state = excluded.state, tries = excluded.tries,
                    last_error = excluded.last_error, cooling_until = excluded.cooling_until,
                    last_attempt_at = excluded.last_attempt_at, last_success_at = excluded.last_success_at,
                    updated_at = excluded.updated_at
                """, arguments: [
                    gatewayID, state.state.rawValue, state.tries, state.lastError, state.coolingUntil?.timeIntervalSince1970,
                    state.lastAttemptAt?.timeIntervalSince1970, state.lastSuccessAt?.timeIntervalSince1970,
                    Date().timeIntervalSince1970,
                ])
        }
    }
}

extension GatewayLiveState {
    /// A `gateway_state` row (columns by their names; `updatedAtColumn` may be aliased).
    package init(row: Row, updatedAtColumn: String) {
        self.init(state: State(rawValue: row["state"]) ?? .idle)
        tries = row["tries"]
        lastError = row["last_error"]
        coolingUntil = (row["cooling_until"] as Double?).map(Date.init(timeIntervalSince1970:))
        lastAttemptAt = (row["last_attempt_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        lastSuccessAt = (row["last_success_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        fetched = row["fetched"]
        skipped = row["skipped"]
        updatedAt = (row[updatedAtColumn] as Double?).map(Date.init(timeIntervalSince1970:))
    }
}
