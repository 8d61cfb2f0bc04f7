import PostgateMessage
import PostgateMaildir
import PostgateIndex

/// Agents, their memberships and personal folders: what `postgate agent …` edits and
/// what IMAP asks at login and for LIST.
///
/// `visibleMailboxes` is the one query deciding which shared mailboxes an agent sees
/// (channel addresses and work queues), so the protocol code never asks why.
/// `SQLiteDirectory` is the single-node implementation.
package protocol AgentDirectory: Sendable {
    func addAgent(name: String, displayName: String?, passwordHash: String) throws(StoreError) -> Int64
    func agents() throws(StoreError) -> [AgentRecord]
    func agent(named name: String) throws(StoreError) -> AgentRecord?
    func removeAgent(named name: String) throws(StoreError)
    func setPasswordHash(_ hash: String, agent name: String) throws(StoreError)
    /// Sets the agent's own email address and signature (`AgentProfileChange`: nil keeps a field).
    /// - Throws: `.agentNotFound`, `.invalidInput` when another agent has the email address.
    func setProfile(_ change: AgentProfileChange, agent name: String) throws(StoreError)
    /// The agent whose own email address is `email` (canonical form), if any.
    func agent(email: String) throws(StoreError) -> AgentRecord?
    /// The id and stored hash of `name`, for login.
    func credentials(of name: String) throws(StoreError) -> (id: Int64, hash: String)?
    /// The address whose mailbox is `mailboxID`.
    func addressID(mailboxID: Int64) throws(StoreError) -> Int64
    /// Adds (`member`) or removes the agent's membership of `target`; `membership` names it in errors.
    /// - Throws: `.agentAlreadyGranted`, `.agentNotGranted`, `.agentNotFound`, `.queueNotFound`.
    func setMembership(
        _ member: Bool, agent name: String, target: MembershipTarget, membership: AgentMembership
    ) throws(StoreError)

    /// Every mailbox the agent sees, personal folders first, by name.
    func visibleMailboxes(agentID: Int64) throws(StoreError) -> [VisibleMailbox]
    /// Adds a personal folder backed by a new mailbox at `path` (created by `createMailbox`).
    func addFolder(
        agentID: Int64, name: String, specialUse: String?, path: String,
        createMailbox: (_ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError)
    /// Removes a personal folder and the index rows of its messages; returns its mailbox.
    func removeFolder(agentID: Int64, name: String) throws(StoreError) -> MailboxState
    /// Renames a personal folder and every folder below it (`a` → `b` moves `a/x` to `b/x`).
    func renameFolder(agentID: Int64, from: String, to: String) throws(StoreError)
    func subscriptions(agentID: Int64) throws(StoreError) -> Set<String>
    func setSubscribed(_ subscribed: Bool, agentID: Int64, name: String) throws(StoreError)
}
