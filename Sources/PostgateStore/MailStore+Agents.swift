import Foundation
import PostgateMessage
import PostgateMaildir
import PostgateIndex
import PostgateDirectory
import PostgateAutoReply

/// Agents and their mailboxes (`postgate agent …`, IMAP LOGIN, LIST, CREATE, DELETE,
/// RENAME, SUBSCRIBE). Each call is one transaction: a refused request changes nothing.
extension MailStore {
    /// The personal folders every agent starts with, with their SPECIAL-USE attributes (RFC 6154).
    public static let standardFolders: [(name: String, specialUse: String?)] = [
        ("INBOX", nil), ("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"),
    ]

    /// Adds an agent with a scrypt hash of `password` and the standard folders.
    /// - Throws: `.agentAlreadyExists`.
    @discardableResult
    public func addAgent(_ name: String, displayName: String? = nil, password: String) throws(StoreError) -> AgentRecord {
        let id = try directory.addAgent(name: name, displayName: displayName, passwordHash: try hash(password))
        for folder in Self.standardFolders {
            try addFolder(agentID: id, name: folder.name, specialUse: folder.specialUse)
            try directory.setSubscribed(true, agentID: id, name: folder.name)
        }
        return try requireAgent(name)
    }

    public func agents() throws(StoreError) -> [AgentRecord] {
        try directory.agents()
    }

    public func agent(_ name: String) throws(StoreError) -> AgentRecord? {
        try directory.agent(named: name)
    }

    /// Removes an agent and its memberships; its personal Maildirs stay on disk.
    public func removeAgent(_ name: String) throws(StoreError) {
        try directory.removeAgent(named: name)
    }

    /// Sets the agent's own email address and signature. The address must be on a domain
    /// this gateway hosts (its replies are DKIM-signed for that domain, so they align with
    /// From for DMARC) and may not be a channel address or alias.
    /// - Throws: `.agentNotFound`, `.invalidSetting` naming the rule.
    @discardableResult
    public func setAgentProfile(_ change: AgentProfileChange, agent name: String) throws(StoreError) -> AgentRecord {
        var change = change
        if case .some(.some(let text)) = change.email {
            let email: EmailAddress
            do { email = try EmailAddress(text) } catch { throw .invalidSetting("'\(text)' is not a valid email address: \(error.description)") }
            guard try domains().contains(where: { $0.name == email.domain.ascii }) else {
                throw .invalidSetting("\(email) is not on a domain this gateway hosts (postgate domain list); replies from it are DKIM-signed for its domain")
            }
            if try directory.address(email, countingMessages: false) != nil {
                throw .invalidSetting("\(email) is a channel address or alias; an agent's own address must be another one")
            }
            change.email = .some(email.canonical)
        }
        for (field, format, source) in [("--signature-text", AutoReplyTemplate.Format.text, change.signatureText),
                                        ("--signature-html", .html, change.signatureHTML)] {
            guard case .some(.some(let source)) = source else { continue }
            if source.utf8.count > Self.maxSignatureBytes {
                throw .invalidSetting("the signature (\(field)) is \(source.utf8.count) bytes; at most \(Self.maxSignatureBytes)")
            }
            do { _ = try AutoReplyTemplate(source, format: format, variables: SignatureValues.names) } catch {
                throw .invalidSetting("the signature (\(field)): \(error)")
            }
        }
        try directory.setProfile(change, agent: name.lowercased())
        return try requireAgent(name.lowercased())
    }

    /// The most bytes of one signature (text or HTML).
    public static let maxSignatureBytes = 16 * 1024

    /// The agent's signature for a reply sent for the channel address `address`: text and
    /// HTML rendered with `SignatureValues`, nil where none is set.
    public static func signature(of agent: AgentRecord, address: String, addressName: String?) -> (text: String?, html: String?) {
        let values = SignatureValues(agentName: agent.displayName ?? agent.name, agentEmail: agent.email ?? "", address: address,
                                     addressName: addressName ?? "").dictionary
        func render(_ source: String?, _ format: AutoReplyTemplate.Format) -> String? {
            guard let source, !source.isEmpty else { return nil }
            return (try? AutoReplyTemplate(source, format: format, variables: SignatureValues.names))?.render(values)
        }
        return (render(agent.signatureText, .text), render(agent.signatureHTML, .html))
    }

    /// The agent whose own email address is `email`, if any.
    public func agent(email: EmailAddress) throws(StoreError) -> AgentRecord? {
        try directory.agent(email: email.canonical)
    }

    public func setPassword(_ password: String, agent name: String) throws(StoreError) {
        try directory.setPasswordHash(try hash(password), agent: name)
    }

    /// Lets the agent see the shared folder of an address (or of the address an alias
    /// names) or of a work queue.
    /// - Throws: `.agentAlreadyGranted`, `.agentNotFound`, `.addressNotFound`, `.queueNotFound`.
    @discardableResult
    ///
    /// The shared folder it gains is subscribed for it, as Dovecot's `auto = subscribe`
    /// does, so clients that show only subscribed folders show it (RFC 3501 section 6.3.6).
    public func grant(agent name: String, to membership: AgentMembership) throws(StoreError) -> AgentRecord {
        let agentID = try directory.credentials(of: name.lowercased())?.id
        var before = Set<String>()
        if let agentID { before = Set(try directory.visibleMailboxes(agentID: agentID).map(\.name)) }
        try directory.setMembership(true, agent: name, target: target(of: membership), membership: membership)
        if let agentID {
            for mailbox in try directory.visibleMailboxes(agentID: agentID) where mailbox.kind == .shared && !before.contains(mailbox.name) {
                try directory.setSubscribed(true, agentID: agentID, name: mailbox.name)
            }
        }
        return try requireAgent(name)
    }

    /// Stops the agent seeing that shared folder.
    /// - Throws: `.agentNotGranted`, `.agentNotFound`, `.addressNotFound`, `.queueNotFound`.
    @discardableResult
    public func revoke(agent name: String, from membership: AgentMembership) throws(StoreError) -> AgentRecord {
        try directory.setMembership(false, agent: name, target: target(of: membership), membership: membership)
        return try requireAgent(name)
    }

    /// `grant(agent:to: .address(address))`.
    @discardableResult
    public func grant(agent name: String, address: EmailAddress) throws(StoreError) -> AgentRecord {
        try grant(agent: name, to: .address(address))
    }

    /// The agent if `password` is right, else nil. Runs scrypt unless `verifiedPasswords`
    /// remembers this password for this stored hash: call it off the event loop.
    ///
    /// An unknown agent's password is checked against a hash of the same cost, so the time
    /// a login takes does not tell whether the agent exists.
    public func authenticate(agent name: String, password: String) throws(StoreError) -> AgentIdentity? {
        let name = name.lowercased()
        guard let credentials = try directory.credentials(of: name) else {
            _ = PasswordHash.unknownAgent?.verify(password)
            return nil
        }
        let identity = AgentIdentity(id: credentials.id, name: name)
        if verifiedPasswords.contains(agent: name, storedHash: credentials.hash, password: password) { return identity }
        guard let stored = PasswordHash(stored: credentials.hash), stored.verify(password) else { return nil }
        verifiedPasswords.insert(agent: name, storedHash: credentials.hash, password: password)
        return identity
    }

    /// The agent if the verification cache remembers `password` for its stored hash; nil
    /// otherwise (unknown agent, wrong password, or not verified lately), which says nothing
    /// yet: `authenticate` decides. A quick lookup, no scrypt.
    public func authenticateFromCache(agent name: String, password: String) throws(StoreError) -> AgentIdentity? {
        let name = name.lowercased()
        guard let credentials = try directory.credentials(of: name),
              verifiedPasswords.contains(agent: name, storedHash: credentials.hash, password: password) else { return nil }
        return AgentIdentity(id: credentials.id, name: name)
    }

    /// Keeps `\Seen` per agent (true) or shared by everyone (false) in the shared folder of
    /// an address or a queue (Dovecot's private flags); other flags stay shared.
    public func setPrivateSeen(_ enabled: Bool, of membership: AgentMembership) throws(StoreError) {
        let path: String
        switch membership {
        case .address(let address):
            guard let record = try directory.address(address, countingMessages: false) else { throw .addressNotFound(address) }
            path = record.mailboxPath
        case .queue(let name):
            guard let queue = try directory.queues().first(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw .queueNotFound(name)
            }
            path = queue.mailboxPath
        }
        guard let mailbox = try index.mailbox(path: path) else { throw .mailboxNotFound(path: path) }
        try index.setPrivateSeen(enabled, mailboxID: mailbox.id)
    }

    // MARK: - Folders

    /// Every mailbox the agent sees: personal folders, then shared ones.
    public func visibleMailboxes(agent: AgentIdentity) throws(StoreError) -> [VisibleMailbox] {
        try directory.visibleMailboxes(agentID: agent.id)
    }

    /// Creates a personal folder with a Maildir of its own.
    public func createFolder(agent: AgentIdentity, name: String) throws(StoreError) {
        try addFolder(agentID: agent.id, name: name, specialUse: nil)
    }

    /// Deletes a personal folder, its messages and its Maildir. INBOX stays.
    public func deleteFolder(agent: AgentIdentity, name: String) throws(StoreError) {
        guard name.uppercased() != "INBOX" else { throw .folderNotRemovable(name) }
        let mailbox = try directory.removeFolder(agentID: agent.id, name: name)
        index.forgetMailbox(mailbox.id)
        do { try data.maildir(mailbox.path).removeAll() } catch {
            // The folder is gone from the index; a Maildir left behind only takes space.
            logger.warning("Maildir of a deleted folder not removed", metadata: ["path": "\(mailbox.path)", "error": "\(error)"])
        }
        changes.notify([mailbox.id])
    }

    public func renameFolder(agent: AgentIdentity, from: String, to: String) throws(StoreError) {
        guard from.uppercased() != "INBOX", to.uppercased() != "INBOX" else { throw .folderNotRemovable(from) }
        try directory.renameFolder(agentID: agent.id, from: from, to: to)
    }

    public func subscriptions(agent: AgentIdentity) throws(StoreError) -> Set<String> {
        try directory.subscriptions(agentID: agent.id)
    }

    public func setSubscribed(_ subscribed: Bool, agent: AgentIdentity, name: String) throws(StoreError) {
        try directory.setSubscribed(subscribed, agentID: agent.id, name: name)
    }

    private func addFolder(agentID: Int64, name: String, specialUse: String?) throws(StoreError) {
        let path = "agents/\(agentID)/" + UUID().uuidString.lowercased()
        try directory.addFolder(agentID: agentID, name: name, specialUse: specialUse, path: path) { (proposed) throws(StoreError) in
            try createMailbox(at: path, proposedUIDValidity: proposed)
        }
    }

    private func requireAgent(_ name: String) throws(StoreError) -> AgentRecord {
        guard let record = try directory.agent(named: name) else { throw .agentNotFound(name) }
        return record
    }

    private func target(of membership: AgentMembership) throws(StoreError) -> MembershipTarget {
        switch membership {
        case .address(let address):
            guard let record = try directory.address(address, countingMessages: false) else { throw .addressNotFound(address) }
            guard let mailbox = try index.mailbox(path: record.mailboxPath) else { throw .mailboxNotFound(path: record.mailboxPath) }
            return .address(id: try directory.addressID(mailboxID: mailbox.id))
        case .queue(let name):
            return .queue(name: name)
        }
    }

    private func hash(_ password: String) throws(StoreError) -> String {
        do { return try PasswordHash.make(password).stored } catch {
            throw .database(path: data.databasePath, reason: "password hashing failed: \(error)")
        }
    }
}
