import PostgateMessage
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// A Maildir in the data directory that holds messages but has no mailbox row in the
/// index: the index was lost, replaced by an empty file, or restored from an older backup.
public struct LostMailbox: Sendable, Equatable {
    /// What the Maildir's place in the layout says it belonged to.
    public enum Owner: Sendable, Equatable {
        /// `maildir/<domain>/<local>/`: a hosted address's own mailbox.
        case address(EmailAddress)
        /// `queues/<queue>/`: an agents' work queue.
        case queue(String)
        /// `agents/<agent-id>/<uuid>/`: an agent's personal folder (its name was in the index).
        case agentFolder
    }

    /// The Maildir, relative to the data directory.
    public var path: String
    public var owner: Owner
    /// Message files in its `new/` and `cur/`.
    public var messageCount: Int
}

/// Finding and re-indexing Maildirs the index no longer knows. Serving over such an index
/// would answer every hosted address with 550 (a permanent failure, so senders bounce the
/// mail) and hide the stored messages from agents.
extension MailStore {
    /// The Maildirs under `maildir/`, `queues/` and `agents/` that hold at least one message
    /// file but have no mailbox row, by path.
    public func lostMailboxes() throws(StoreError) -> [LostMailbox] {
        var lost: [LostMailbox] = []
        for mailbox in try Self.maildirsHoldingMail(data) where try index.mailbox(path: mailbox.path) == nil {
            lost.append(mailbox)
        }
        return lost
    }

    /// The Maildirs under `maildir/`, `queues/` and `agents/` of `data` that hold at least
    /// one message file, by path, whatever the index says.
    static func maildirsHoldingMail(_ data: DataDirectory) throws(StoreError) -> [LostMailbox] {
        var found: [LostMailbox] = []
        for path in try candidateMaildirs(data) {
            let files = try data.maildir(path).messageFiles()
            guard !files.isEmpty else { continue }
            found.append(LostMailbox(path: path, owner: Self.owner(of: path), messageCount: files.count))
        }
        return found.sorted { $0.path < $1.path }
    }

    /// Refuses to serve over an index that holds no mailbox while the data directory holds
    /// mail: a blank or replaced `postgate.sqlite` would otherwise start as a new install.
    /// Costs one query when the index has mailboxes, as it has on every normal start.
    /// - Throws: `.indexLost` saying how to repair.
    public func requireIndexOfStoredMail() throws(StoreError) {
        guard try index.mailboxes().isEmpty else { return }
        let lost = try lostMailboxes()
        guard let first = lost.first else { return }
        throw .indexLost(dataDirectory: data.root, example: first.path, mailboxes: lost.count,
                         messages: lost.reduce(0) { $0 + $1.messageCount })
    }

    /// `postgate check --repair`: gives every lost Maildir its mailbox row back and indexes
    /// its messages again (UIDVALIDITY from `postgate-uidvalidity`, UIDs from the file
    /// names). A lost address mailbox makes its domain and address hosted again with
    /// default settings; a lost queue is added again. An agent's personal folder cannot be
    /// restored this way: its name and owner were only in the index.
    /// - Returns: one finding per lost Maildir, saying what was done or what to do.
    public func restoreLostMailboxes() throws(StoreError) -> [CheckFinding] {
        var findings: [CheckFinding] = []
        let lost = try lostMailboxes()
        // Addresses first: adding one may make the default queue, whose Maildir may be lost too.
        for mailbox in lost {
            guard case .address(let address) = mailbox.owner else { continue }
            if try !domains().contains(where: { $0.name == address.domain.ascii }) {
                try addDomain(address.domain)
            }
            if try self.address(address, countingMessages: false) == nil {
                try addAddress(address)
            }
            let added = try rebuildIndex(mailboxPath: mailbox.path)
            findings.append(CheckFinding("mailbox \(mailbox.path)", .warning,
                "\(added) message(s) indexed again; \(address.display) is hosted again with default settings: restore its settings with `postgate import` or `postgate address set`"))
        }
        for mailbox in lost {
            switch mailbox.owner {
            case .address:
                continue
            case .queue(let name):
                if try index.mailbox(path: mailbox.path) == nil {
                    try addQueue(name)
                }
                let added = try rebuildIndex(mailboxPath: mailbox.path)
                findings.append(CheckFinding("mailbox \(mailbox.path)", .warning,
                    "\(added) message(s) indexed again in queue '\(name)'; grant it to agents again with `postgate agent grant`"))
            case .agentFolder:
                findings.append(CheckFinding("mailbox \(mailbox.path)", .error,
                    "an agent's personal folder with \(mailbox.messageCount) message(s) that the index no longer names; restore postgate.sqlite from a backup to get it back (the files stay where they are)"))
            }
        }
        return findings
    }

    /// The error finding `postgate check` reports for each lost Maildir.
    func lostMailboxFindings() throws(StoreError) -> [CheckFinding] {
        try lostMailboxes().map(Self.lostMailboxFinding)
    }

    static func lostMailboxFinding(_ mailbox: LostMailbox) -> CheckFinding {
        CheckFinding("mailbox \(mailbox.path)", .error,
            "\(mailbox.messageCount) message file(s) but no mailbox in the index: restore postgate.sqlite from a backup, or run `postgate check --repair` to index them again")
    }

    /// `postgate check` over a data directory the store refused to open (`open` threw
    /// `error`): the reason as an error and, when the index is lost as a whole, every
    /// Maildir that holds mail.
    public static func checkUnopened(directory: String, error: StoreError) -> [CheckFinding] {
        let subject = if case .sessionKeyMissing = error { "session key" } else { "database" }
        var findings = [CheckFinding(subject, .error, error.description)]
        switch error {
        case .indexEmpty, .indexUnreadable:
            do {
                findings += try maildirsHoldingMail(DataDirectory.prepare(directory)).map(lostMailboxFinding)
            } catch {
                findings.append(CheckFinding("maildirs", .error, error.description))
            }
        default:
            break
        }
        return findings
    }

    /// `maildir/<domain>/<local>`, `queues/<queue>` and `agents/<agent>/<uuid>`, relative to
    /// the data directory; hidden names are skipped.
    private static func candidateMaildirs(_ data: DataDirectory) throws(StoreError) -> [String] {
        var paths: [String] = []
        for domain in try subdirectories(data, DataDirectory.maildirRoot) {
            paths += try subdirectories(data, DataDirectory.maildirRoot + "/" + domain).map { DataDirectory.maildirRoot + "/" + domain + "/" + $0 }
        }
        paths += try subdirectories(data, "queues").map { "queues/" + $0 }
        for agent in try subdirectories(data, "agents") {
            paths += try subdirectories(data, "agents/" + agent).map { "agents/" + agent + "/" + $0 }
        }
        return paths
    }

    private static func subdirectories(_ data: DataDirectory, _ relativePath: String) throws(StoreError) -> [String] {
        let absolute = data.absolute(relativePath)
        guard FileSystem.isDirectory(absolute) else { return [] }
        return try FileSystem.contents(of: absolute).filter { !$0.hasPrefix(".") && FileSystem.isDirectory(absolute + "/" + $0) }
    }

    /// What a Maildir's place says it belonged to; an address directory whose names do not
    /// decode (not made by Postgate) counts as an agent folder, which repair leaves alone.
    private static func owner(of path: String) -> LostMailbox.Owner {
        let parts = path.split(separator: "/").map(String.init)
        if parts.count == 3, parts[0] == DataDirectory.maildirRoot,
           let localPart = DataDirectory.localPart(fromDirectory: parts[2]),
           let domain = try? DomainName(parts[1]),
           DataDirectory.mailboxPath(for: EmailAddress(localPart: localPart, domain: domain)) == path {
            return .address(EmailAddress(localPart: localPart, domain: domain))
        }
        if parts.count == 2, parts[0] == "queues" { return .queue(parts[1]) }
        return .agentFolder
    }
}
