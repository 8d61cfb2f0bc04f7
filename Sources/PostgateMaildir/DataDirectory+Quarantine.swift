extension DataDirectory {
    package static let quarantineRoot = "quarantine"

    /// The quarantine Maildir of the mailbox at `mailboxPath`:
    /// `maildir/<domain>/<local>` → `quarantine/<domain>/<local>`. It lies outside
    /// `maildir/`, so no mail client or IMAP folder listing of the address shows it.
    package static func quarantinePath(for mailboxPath: String) -> String {
        let prefix = maildirRoot + "/"
        let rest = mailboxPath.hasPrefix(prefix) ? String(mailboxPath.dropFirst(prefix.count)) : mailboxPath
        return quarantineRoot + "/" + rest
    }
}
