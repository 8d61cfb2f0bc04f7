import PostgateMessage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a store operation failed, worded so that an administrator can act on it.
///
/// Every case renders as one line (`description`); the admin commands print it after
/// `postgate: ` and the gateway logs it. Refusals (duplicates, unknown domains…) are
/// detected before anything is changed, so a thrown error means nothing was written —
/// except for `.publishFailed`, where the message is durable and recovery finishes it.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How a mailbox name that a request wanted is already used.
    public enum Usage: Sendable, Equatable {
        case address
        case alias(of: EmailAddress)
    }

    case dataDirectoryNotWritable(path: String, reason: String)
    case io(operation: String, path: String, reason: String)
    case database(path: String, reason: String)
    case domainAlreadyHosted(DomainName)
    case domainNotHosted(DomainName)
    case domainNotEmpty(DomainName, addresses: Int, aliases: Int)
    case addressInUse(EmailAddress, as: Usage)
    case addressGivenTwice(EmailAddress)
    case addressNotFound(EmailAddress)
    case notAnAddress(EmailAddress, aliasOf: EmailAddress)
    case aliasNotFound(EmailAddress, of: EmailAddress)
    case mailboxNotFound(path: String)
    case messageNotWritable(state: String)
    case publishFailed(reason: String)
    case sessionNotFound(Int64)
    /// A channel setting that breaks a rule; the text names the setting and the rule.
    case invalidSetting(String)
    /// A domain-kind limit (`channels.limits`) would be exceeded.
    case limitReached(String)
    case queueNotFound(String)
    case queueExists(String)
    case queueInUse(String, by: [String])
    case filterNotFound(Int, address: EmailAddress)
    case dkimSelectorExists(DomainName, selector: String)
    case dkimKeyNotFound(DomainName, selector: String?)
    case blocklistEntryExists(EmailAddress, entry: String)
    case blocklistEntryNotFound(EmailAddress, entry: String)
    case quarantinedMessageNotFound(Int64)
    case agentAlreadyExists(String)
    case agentNotFound(String)
    case agentAlreadyGranted(agent: String, membership: AgentMembership)
    case agentNotGranted(agent: String, membership: AgentMembership)
    case folderExists(String)
    case responseExists(String)
    case responseNotFound(String)
    case folderNotFound(String)
    case folderNotRemovable(String)
    case messageNotFound(uid: UInt32)
    /// The data directory's secret key (`DATA/secret.key`) is missing, unsafe, or not the
    /// one a stored secret was sealed with; the text says which and what to do.
    case secretKey(String)
    /// The address has no mailbox connector in that direction (`receiving`, `sending`).
    case gatewayNotFound(EmailAddress, direction: String)
    /// The index holds no mailbox, yet Maildirs in the data directory hold mail.
    case indexLost(dataDirectory: String, example: String, mailboxes: Int, messages: Int)
    /// The index file is not a SQLite database, or a damaged one.
    case indexUnreadable(dataDirectory: String, reason: String)
    /// The index file is empty (0 bytes) in a data directory that has been used before.
    case indexEmpty(dataDirectory: String)
    /// `session.key` is missing (or cut short) while the index holds messages whose reply
    /// Message-IDs were signed with it.
    case sessionKeyMissing(dataDirectory: String, messages: Int)
    /// The filesystem is full (or the user's quota reached): nothing was written.
    case insufficientStorage(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .dataDirectoryNotWritable(let path, let reason):
            "data directory \(path) is not writable: \(reason)"
        case .io(let operation, let path, let reason):
            "could not \(operation) \(path): \(reason)"
        case .database(let path, let reason):
            "the index database \(path) failed: \(reason)"
        case .domainAlreadyHosted(let domain):
            "domain \(domain.unicode) is already hosted"
        case .domainNotHosted(let domain):
            "domain \(domain.unicode) is not hosted; add it with `postgate domain add \(domain.unicode)`"
        case .domainNotEmpty(let domain, let addresses, let aliases):
            "domain \(domain.unicode) still has \(Self.count(addresses, "address", "addresses")) and \(Self.count(aliases, "alias", "aliases")); remove them first, or use `postgate domain remove \(domain.unicode) --force`"
        case .addressInUse(let address, .address):
            "address \(address.display) is already in use (as an address)"
        case .addressInUse(let address, .alias(let owner)):
            "address \(address.display) is already in use (as an alias of \(owner.display))"
        case .addressGivenTwice(let address):
            "address \(address.display) is given more than once"
        case .dkimSelectorExists(let domain, let selector):
            "domain \(domain.unicode) already has a DKIM key with selector \(selector); choose another selector (or `postgate dkim rotate`)"
        case .dkimKeyNotFound(let domain, let selector?):
            "domain \(domain.unicode) has no DKIM key with selector \(selector); see `postgate dkim show \(domain.unicode)`"
        case .dkimKeyNotFound(let domain, nil):
            "domain \(domain.unicode) has no DKIM key; make one with `postgate dkim generate \(domain.unicode) --selector S`"
        case .addressNotFound(let address):
            "address \(address.display) is not hosted; see `postgate address list`"
        case .notAnAddress(let alias, let owner):
            "\(alias.display) is an alias of \(owner.display), not an address; use \(owner.display) or `postgate address alias remove`"
        case .aliasNotFound(let alias, let owner):
            "\(alias.display) is not an alias of \(owner.display); see `postgate address show \(owner.display)`"
        case .mailboxNotFound(let path):
            "mailbox \(path) is not in the index"
        case .messageNotWritable(let state):
            "the incoming message is \(state) and cannot be written or delivered"
        case .publishFailed(let reason):
            "the message is stored but not yet visible (recovery will finish it): \(reason)"
        case .sessionNotFound(let id):
            "there is no session \(id); see `postgate session list`"
        case .invalidSetting(let reason), .limitReached(let reason), .secretKey(let reason):
            reason
        case .queueNotFound(let name):
            "there is no queue '\(name)'; see `postgate queue list`, or add it with `postgate queue add \(name)`"
        case .queueExists(let name):
            "queue '\(name)' exists already"
        case .responseExists(let name):
            "standard response '\(name)' exists already; give --replace to replace it"
        case .responseNotFound(let name):
            "there is no standard response '\(name)'; see `postgate response list`"
        case .queueInUse(let name, let users):
            "queue '\(name)' is still used by \(users.joined(separator: ", ")); change those first"
        case .filterNotFound(let id, let address):
            "\(address.display) has no filter \(id); see `postgate filter list \(address.display)`"
        case .blocklistEntryExists(let address, let entry):
            "\(entry) is already on the blocklist of \(address.display)"
        case .blocklistEntryNotFound(let address, let entry):
            "\(entry) is not on the blocklist of \(address.display); see `postgate blocklist list \(address.display)`"
        case .quarantinedMessageNotFound(let id):
            "no quarantined message \(id); see `postgate quarantine list`"
        case .agentAlreadyExists(let name):
            "agent \(name) already exists"
        case .agentNotFound(let name):
            "agent \(name) does not exist; see `postgate agent list`"
        case .agentAlreadyGranted(let agent, let membership):
            "agent \(agent) already belongs to \(membership)"
        case .agentNotGranted(let agent, let membership):
            "agent \(agent) does not belong to \(membership); see `postgate agent show \(agent)`"
        case .folderExists(let name):
            "mailbox \(name) already exists"
        case .folderNotFound(let name):
            "mailbox \(name) does not exist"
        case .folderNotRemovable(let name):
            "mailbox \(name) cannot be removed or renamed"
        case .messageNotFound(let uid):
            "message UID \(uid) is not in the mailbox"
        case .gatewayNotFound(let address, let direction):
            "\(address.display) has no \(direction) gateway; see `postgate connector show \(address.display)`"
        case .indexLost(let root, let example, let mailboxes, let messages):
            "the index \(root)/postgate.sqlite holds no mailbox, but \(mailboxes) Maildir(s) under \(root) hold \(messages) message(s) (e.g. \(example)): restore postgate.sqlite from a backup, or run `postgate check --repair --data \(root)` to index them again; not serving, so that hosted addresses are not refused with 550"
        case .indexUnreadable(let root, let reason):
            "the index \(root)/postgate.sqlite cannot be read (\(reason)): restore postgate.sqlite from a backup, or run `postgate check --repair --data \(root)` to set it aside and index the Maildirs again"
        case .indexEmpty(let root):
            "the index \(root)/postgate.sqlite is empty (0 bytes), but the data directory has been used: restore postgate.sqlite from a backup, or run `postgate check --repair --data \(root)` to index the Maildirs again"
        case .sessionKeyMissing(let root, let messages):
            "\(root)/session.key is missing or cut short, but the index holds \(messages) message(s) whose replies carry Message-IDs signed with it: restore session.key from a backup (a new key breaks the threading of replies to them), or run `postgate check --repair --data \(root)` to make a new one"
        case .insufficientStorage(let operation, let path, let reason):
            "could not \(operation) \(path): \(reason); free space on its filesystem"
        }
    }

    private static func count(_ n: Int, _ one: String, _ many: String) -> String {
        "\(n) \(n == 1 ? one : many)"
    }

    /// An I/O failure from the current `errno`.
    /// A full filesystem or quota (`ENOSPC`, `EDQUOT`) is `.insufficientStorage`.
    package static func posix(_ operation: String, _ path: String, errno code: Int32 = errno) -> StoreError {
        let reason = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT { return .insufficientStorage(operation: operation, path: path, reason: reason) }
        return .io(operation: operation, path: path, reason: reason)
    }
}
