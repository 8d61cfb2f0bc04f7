import Foundation
import GRDB
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateMessage
import PostgatePolicy
import PostgateSessions

/// Who works a session and where. A session's owner is the agent who first replied to it
/// (or the one it was assigned to); the owner finds the session's customer messages in a
/// personal folder `Mine`, beside the shared queue. A transfer moves the session's queue
/// copies to another queue and gives the session back to the pool (no owner). Every change
/// is recorded in the session's history (`postgate session show`).
///
/// Copies are hard links (one file, a row per mailbox) that keep the delivery's queue id, so
/// the copies of a session's messages are found again by it; a copy is made before the one
/// it replaces is removed, so a crash between the two leaves a message twice, never nowhere.
extension MailStore {
    /// The personal folder that shows an agent the sessions it owns.
    public static let ownedSessionsFolder = "Mine"

    /// The session facts ownership and transfers need.
    struct SessionPlace {
        var id: Int64
        var mailboxID: Int64
        var mailboxPath: String
        var customer: String
        var ownerID: Int64?
        var ownerName: String?
        var queue: String?
        var awaiting: Bool
        var startedAt: Date
    }

    // MARK: - Agents' replies

    /// Records an agent's reply in `sessionID`: nothing waits for an answer any more, and a
    /// session without an owner becomes the agent's (its messages are filed in the agent's
    /// `Mine` folder). A failure is logged: the reply is queued already.
    public func recordAgentReply(sessionID: Int64, agent name: String, now: Date = Date()) {
        do {
            guard let agent = try directory.credentials(of: name.lowercased()) else { return }
            let claimed = try database.write(publishingGeneration: false) { db -> Bool in
                try db.execute(sql: "UPDATE session SET awaiting_since = NULL WHERE id = ?", arguments: [sessionID])
                try db.execute(sql: "UPDATE session SET owner_agent_id = ? WHERE id = ? AND owner_agent_id IS NULL",
                               arguments: [agent.id, sessionID])
                guard db.changesCount > 0 else { return false }
                try Self.recordEvent(db, sessionID: sessionID, at: now, kind: "owner", actor: name.lowercased(), agent: name.lowercased())
                return true
            }
            guard claimed, let place = try sessionPlace(sessionID) else { return }
            try fileInMine(place, agentID: agent.id, agentName: name.lowercased(), uids: nil)
        } catch {
            logger.error("agent's reply not recorded in its session", metadata: [
                "session": "\(sessionID)", "agent": "\(name)", "error": "\(error)",
            ])
        }
    }

    // MARK: - Assignment and transfer

    /// Makes `agentName` the owner of session `id` (`postgate session assign`). The agent
    /// must see the session: be granted its address or a queue holding its messages.
    public func assignSession(_ id: Int64, to agentName: String, actor: String, now: Date = Date()) throws(StoreError) {
        guard let place = try sessionPlace(id) else { throw .sessionNotFound(id) }
        let name = agentName.lowercased()
        guard let agent = try self.agent(name), let credentials = try directory.credentials(of: name) else {
            throw .agentNotFound(agentName)
        }
        guard place.ownerID != credentials.id else { throw .invalidSetting("session \(id) is already \(name)'s") }
        let queues = try sessionQueues(place)
        guard agent.addresses.contains(try addressText(of: place)) || !Set(agent.queues).isDisjoint(with: queues) else {
            throw .invalidSetting("agent \(name) cannot see session \(id): grant it \(try addressText(of: place)) or one of the queues \(queues.sorted().joined(separator: ", ")) first")
        }
        try fileInMine(place, agentID: credentials.id, agentName: name, uids: nil)
        try database.write(publishingGeneration: false) { db in
            try db.execute(sql: "UPDATE session SET owner_agent_id = ? WHERE id = ?", arguments: [credentials.id, id])
            try Self.recordEvent(db, sessionID: id, at: now, kind: "assigned", actor: actor, agent: name)
        }
        if let previous = place.ownerID { try removeFromMine(place, agentID: previous) }
    }

    /// Moves session `id` to `queue` (`postgate session transfer`, and the transfer on no
    /// agent reply): its messages are filed there unread and leave the queues they were in;
    /// the session loses its owner (and leaves the owner's `Mine`), and a customer message
    /// still waiting for an answer waits from now. `session.transferred` goes to webhooks.
    public func transferSession(_ id: Int64, to queue: String, actor: String, detail: String? = nil,
                                now: Date = Date()) throws(StoreError) {
        guard let place = try sessionPlace(id) else { throw .sessionNotFound(id) }
        guard let record = try queues().first(where: { $0.name.lowercased() == queue.lowercased() }) else {
            throw .queueNotFound(queue)
        }
        guard try move(place, to: record.name, actor: actor, detail: detail, now: now) else {
            throw .invalidSetting("session \(id) is in queue \(record.name) already, with no owner")
        }
    }

    /// Moves the session to `queue` unless it is there already without an owner; returns
    /// whether it moved.
    func move(_ place: SessionPlace, to queue: String, actor: String, detail: String?, now: Date) throws(StoreError) -> Bool {
        let current = try sessionQueues(place)
        guard current != [queue] || place.ownerID != nil else { return false }
        guard let target = try index.mailbox(path: QueueRecord.mailboxPath(for: queue)) else {
            throw .mailboxNotFound(path: QueueRecord.mailboxPath(for: queue))
        }
        try fileCopies(of: try customerMessages(place), from: try requireMailbox(place.mailboxPath), to: target)
        let from = current.sorted().joined(separator: ", ")
        try database.write(publishingGeneration: false) { db in
            try db.execute(sql: """
                UPDATE session SET queue = ?, owner_agent_id = NULL,
                    awaiting_since = CASE WHEN awaiting_since IS NULL THEN NULL ELSE ? END
                WHERE id = ?
                """, arguments: [queue, now.timeIntervalSince1970, place.id])
            try Self.recordEvent(db, sessionID: place.id, at: now, kind: "transferred", actor: actor,
                                 fromQueue: from.isEmpty ? nil : from, toQueue: queue, detail: detail)
            try WebhookOutbox.enqueue(db, [WebhookEvent(type: .sessionTransferred, sessionID: place.id, queue: queue, detail: detail)],
                                      now: now)
        }
        for name in current where name != queue {
            guard let mailbox = try index.mailbox(path: QueueRecord.mailboxPath(for: name)) else { continue }
            try removeCopies(of: place, from: mailbox)
        }
        if let owner = place.ownerID { try removeFromMine(place, agentID: owner) }
        return true
    }

    /// The history of session `id`, oldest first.
    public func sessionEvents(_ id: Int64) throws(StoreError) -> [SessionEventRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT at, kind, actor, agent, from_queue, to_queue, detail FROM session_event WHERE session_id = ? ORDER BY id
                """, arguments: [id]).map { row in
                SessionEventRecord(at: Date(timeIntervalSince1970: row["at"]), kind: row["kind"], actor: row["actor"],
                                   agent: row["agent"], fromQueue: row["from_queue"], toQueue: row["to_queue"], detail: row["detail"])
            }
        }
    }

    // MARK: - Delivery

    /// After a delivery: files each stored customer message as its session says. A new
    /// session of a returning customer goes to the agent who owned their last one (last-agent
    /// mode); a message of a transferred session moves from the queue the filters chose to
    /// the session's queue; a message of an owned session is also filed in the owner's
    /// `Mine`. `routed` maps an address mailbox path to its address and the queue its copy
    /// went to. Failures are logged: the message is stored whatever happens here.
    public func followSessions(_ stored: [StoredMessage], routed: [String: (address: EmailAddress, queue: String?)], now: Date = Date()) {
        for message in stored where message.policy == nil {
            guard let sessionID = message.sessionID, let target = routed[message.mailboxPath] else { continue }
            let opened = [SessionMatchReason.newThread.rawValue, SessionMatchReason.expired.rawValue].contains(message.sessionReason ?? "")
            do {
                // Most messages join a session with no owner and no queue of its own, or open
                // one at an address without last-agent mode: nothing to file, nothing to read.
                if !message.sessionPlaced {
                    guard opened, try directorySnapshot().address(target.address)?.settings.lastAgentDays != nil else { continue }
                }
                guard var place = try sessionPlace(sessionID) else { continue }
                if opened, place.ownerID == nil,
                   let owner = try returningCustomersAgent(place, address: target.address, routedQueue: target.queue, now: now) {
                    try database.write(publishingGeneration: false) { db in
                        try db.execute(sql: "UPDATE session SET owner_agent_id = ? WHERE id = ? AND owner_agent_id IS NULL",
                                       arguments: [owner.id, sessionID])
                        try Self.recordEvent(db, sessionID: sessionID, at: now, kind: "assigned", actor: "last-agent", agent: owner.name)
                    }
                    (place.ownerID, place.ownerName) = (owner.id, owner.name)
                }
                if let queue = place.queue, let routedQueue = target.queue, routedQueue.lowercased() != queue.lowercased(),
                   let from = try index.mailbox(path: QueueRecord.mailboxPath(for: routedQueue)),
                   let to = try index.mailbox(path: QueueRecord.mailboxPath(for: queue)),
                   let queueID = message.queueID, !(try copyUIDs(queueIDs: [queueID], in: from.id)).isEmpty {
                    try fileCopies(of: [(message.uid, queueID)], from: try requireMailbox(message.mailboxPath), to: to)
                    try removeCopies(queueIDs: [queueID], from: from)
                }
                if let owner = place.ownerID, let name = place.ownerName {
                    try fileInMine(place, agentID: owner, agentName: name, uids: [message.uid])
                }
            } catch {
                logger.error("message not filed as its session says", metadata: [
                    "session": "\(sessionID)", "mailbox": "\(message.mailboxPath)", "uid": "\(message.uid)", "error": "\(error)",
                ])
            }
        }
    }

    /// The agent who owned the customer's most recent other session of this address, when
    /// the address has last-agent mode, that session was active within its period, and the
    /// agent still sees the address or the queue the message went to.
    private func returningCustomersAgent(_ place: SessionPlace, address email: EmailAddress, routedQueue: String?,
                                         now: Date) throws(StoreError) -> AgentIdentity? {
        guard let address = try directorySnapshot().address(email), let days = address.settings.lastAgentDays else { return nil }
        let since = now.timeIntervalSince1970 - Double(days) * 86400
        let owner = try database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT agent.id, agent.name FROM session JOIN agent ON agent.id = session.owner_agent_id
                WHERE session.mailbox_id = ? AND session.customer = ? AND session.id != ? AND session.last_activity_at >= ?
                ORDER BY session.last_activity_at DESC, session.id DESC LIMIT 1
                """, arguments: [place.mailboxID, place.customer, place.id, since])
                .map { AgentIdentity(id: $0["id"], name: $0["name"]) }
        }
        guard let owner, let agent = try self.agent(owner.name) else { return nil }
        let sees = agent.addresses.contains(address.email) || routedQueue.map { queue in agent.queues.contains { $0.lowercased() == queue.lowercased() } } == true
        return sees ? owner : nil
    }

    // MARK: - Copies

    /// Files the session's customer messages (`uids`, nil: all) in the agent's `Mine`
    /// folder, made when missing; those already there are left.
    private func fileInMine(_ place: SessionPlace, agentID: Int64, agentName: String, uids: [UInt32]?) throws(StoreError) {
        let mine = try mineFolder(agentID: agentID, agentName: agentName)
        var messages = try customerMessages(place)
        if let uids { messages = messages.filter { uids.contains($0.uid) } }
        try fileCopies(of: messages, from: try requireMailbox(place.mailboxPath), to: mine)
    }

    private func removeFromMine(_ place: SessionPlace, agentID: Int64) throws(StoreError) {
        guard let name = try database.read({ db in try String.fetchOne(db, sql: "SELECT name FROM agent WHERE id = ?", arguments: [agentID]) }),
              let folder = try agentFolder(name, named: Self.ownedSessionsFolder),
              let mine = try index.mailbox(path: folder.path) else { return }
        try removeCopies(of: place, from: mine)
    }

    private func mineFolder(agentID: Int64, agentName: String) throws(StoreError) -> MailboxState {
        if try agentFolder(agentName, named: Self.ownedSessionsFolder) == nil {
            try createFolder(agent: AgentIdentity(id: agentID, name: agentName), name: Self.ownedSessionsFolder)
        }
        guard let folder = try agentFolder(agentName, named: Self.ownedSessionsFolder) else {
            throw .mailboxNotFound(path: "agents/\(agentID)/\(Self.ownedSessionsFolder)")
        }
        return try requireMailbox(folder.path)
    }

    /// Copies `messages` (UID in `source`, queue id) into `target`, unread, each keeping its
    /// queue id; a message whose queue id `target` holds already is skipped.
    private func fileCopies(of messages: [(uid: UInt32, queueID: String?)], from source: MailboxState, to target: MailboxState) throws(StoreError) {
        let present = Set(try copyQueueIDs(queueIDs: messages.compactMap(\.queueID), in: target.id))
        var summaries: [MessageSummary] = []
        for message in messages where !(message.queueID.map(present.contains) ?? false) {
            for var summary in try index.details(mailboxID: source.id, uids: message.uid...message.uid) {
                summary.flags = MessageFlags()
                summaries.append(summary)
            }
        }
        guard !summaries.isEmpty else { return }
        func visible(_ state: MailboxState) -> VisibleMailbox {
            VisibleMailbox(name: state.path, kind: .shared, mailboxID: state.id, path: state.path, specialUse: nil, privateSeen: false)
        }
        // Each copy keeps its delivery's queue id in the transaction that makes it.
        _ = try copy(summaries, from: visible(source), to: visible(target), keepingQueueID: true)
    }

    /// Removes from `mailbox` the copies of the session's customer messages.
    private func removeCopies(of place: SessionPlace, from mailbox: MailboxState) throws(StoreError) {
        try removeCopies(queueIDs: try customerMessages(place).compactMap(\.queueID), from: mailbox)
    }

    private func removeCopies(queueIDs: [String], from mailbox: MailboxState) throws(StoreError) {
        let uids = try copyUIDs(queueIDs: queueIDs, in: mailbox.id)
        guard !uids.isEmpty else { return }
        _ = try removeMessages([(mailbox, uids)])
    }

    private func copyUIDs(queueIDs: [String], in mailboxID: Int64) throws(StoreError) -> [UInt32] {
        guard !queueIDs.isEmpty else { return [] }
        return try database.read { db in
            try UInt32.fetchAll(db, sql: """
                SELECT uid FROM message WHERE queue_id IN (\(databaseQuestionMarks(count: queueIDs.count))) AND mailbox_id = ?
                ORDER BY uid
                """, arguments: StatementArguments(queueIDs) + [mailboxID])
        }
    }

    private func copyQueueIDs(queueIDs: [String], in mailboxID: Int64) throws(StoreError) -> [String] {
        guard !queueIDs.isEmpty else { return [] }
        return try database.read { db in
            try String.fetchAll(db, sql: """
                SELECT queue_id FROM message WHERE queue_id IN (\(databaseQuestionMarks(count: queueIDs.count))) AND mailbox_id = ?
                """, arguments: StatementArguments(queueIDs) + [mailboxID])
        }
    }

    // MARK: - Reading

    func sessionPlace(_ id: Int64) throws(StoreError) -> SessionPlace? {
        try database.read { db in
            try Row.fetchOne(db, cachedSQL: """
                SELECT session.id, session.mailbox_id, mailbox.path, session.customer, session.owner_agent_id, agent.name AS owner_name,
                    session.queue, session.awaiting_since, session.started_at
                FROM session JOIN mailbox ON mailbox.id = session.mailbox_id LEFT JOIN agent ON agent.id = session.owner_agent_id
                WHERE session.id = ?
                """, arguments: [id]).map { row in
                SessionPlace(id: row["id"], mailboxID: row["mailbox_id"], mailboxPath: row["path"], customer: row["customer"],
                             ownerID: row["owner_agent_id"], ownerName: row["owner_name"], queue: row["queue"],
                             awaiting: (row["awaiting_since"] as Double?) != nil,
                             startedAt: Date(timeIntervalSince1970: row["started_at"]))
            }
        }
    }

    /// The session's customer messages in its address's mailbox: UID and queue id.
    private func customerMessages(_ place: SessionPlace) throws(StoreError) -> [(uid: UInt32, queueID: String?)] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT uid, queue_id FROM message WHERE session_id = ? AND mailbox_id = ? AND policy IS NULL ORDER BY uid
                """, arguments: [place.id, place.mailboxID]).map { (uid: $0["uid"], queueID: $0["queue_id"]) }
        }
    }

    /// The queues holding copies of the session's messages, and the one a transfer named.
    private func sessionQueues(_ place: SessionPlace) throws(StoreError) -> Set<String> {
        let queueIDs = try customerMessages(place).compactMap(\.queueID)
        var names = Set(place.queue.map { [$0] } ?? [])
        guard !queueIDs.isEmpty else { return names }
        let paths = try database.read { db in
            try String.fetchAll(db, sql: """
                SELECT DISTINCT mailbox.path FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE message.queue_id IN (\(databaseQuestionMarks(count: queueIDs.count))) AND mailbox.path LIKE 'queues/%'
                """, arguments: StatementArguments(queueIDs))
        }
        let queues = try self.queues()
        for path in paths {
            if let queue = queues.first(where: { QueueRecord.mailboxPath(for: $0.name) == path }) { names.insert(queue.name) }
        }
        return names
    }

    /// The address whose mailbox holds the session (its mailbox path once the address is gone).
    private func addressText(of place: SessionPlace) throws(StoreError) -> String {
        try database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT address.local_part, domain.name FROM address JOIN domain ON domain.id = address.domain_id
                WHERE address.mailbox_id = ?
                """, arguments: [place.mailboxID]).map { "\($0["local_part"] as String)@\($0["name"] as String)" }
        } ?? place.mailboxPath
    }

    private func requireMailbox(_ path: String) throws(StoreError) -> MailboxState {
        guard let state = try index.mailbox(path: path) else { throw .mailboxNotFound(path: path) }
        return state
    }

    static func recordEvent(_ db: Database, sessionID: Int64, at: Date, kind: String, actor: String, agent: String? = nil,
                            fromQueue: String? = nil, toQueue: String? = nil, detail: String? = nil) throws {
        try db.execute(sql: """
            INSERT INTO session_event (session_id, at, kind, actor, agent, from_queue, to_queue, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [sessionID, at.timeIntervalSince1970, kind, actor, agent, fromQueue, toQueue, detail])
    }
}
