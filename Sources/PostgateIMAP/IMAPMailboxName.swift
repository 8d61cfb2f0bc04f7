import PostgateStore
import PostgateIndex

/// Mailbox names (RFC 9051 section 5.1): `/` separates levels, INBOX is case-insensitive,
/// `*` and `%` are LIST wildcards (section 6.3.9), and parents that are not mailboxes
/// themselves (`Shared`) are listed as `\Noselect`.
enum IMAPMailboxName {
    static let maxLength = 255

    /// `INBOX` in any case becomes `INBOX` (also as the first level); a trailing `/` goes.
    static func normalize(_ name: String) -> String {
        var name = name
        while name.count > 1, name.hasSuffix("/") { name.removeLast() }
        if name.uppercased() == "INBOX" { return "INBOX" }
        if name.uppercased().hasPrefix("INBOX/") { return "INBOX" + name.dropFirst(5) }
        return name
    }

    /// Checks a name for CREATE or RENAME: not empty, no wildcards, controls or empty
    /// levels, not in the shared namespace.
    static func validateNew(_ name: String) throws(IMAPCommandFailure) -> String {
        let name = normalize(name)
        guard !name.isEmpty, name.count <= maxLength,
              !name.contains(where: { $0 == "*" || $0 == "%" || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }),
              !name.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty)
        else { throw IMAPCommandFailure("Invalid mailbox name", code: "CANNOT") }
        guard !(name + "/").hasPrefix(VisibleMailbox.sharedPrefix) else {
            throw IMAPCommandFailure("Shared mailboxes are made by the administrator", code: "NOPERM")
        }
        return name
    }

    /// LIST pattern matching: `*` matches anything, `%` anything but `/`.
    static func matches(_ name: String, pattern: String) -> Bool {
        let normalizedPattern = pattern.uppercased().hasPrefix("INBOX") ? normalize(pattern) : pattern
        return match(Array(name.unicodeScalars), 0, Array(normalizedPattern.unicodeScalars), 0)
    }

    private static func match(_ name: [Unicode.Scalar], _ i: Int, _ pattern: [Unicode.Scalar], _ j: Int) -> Bool {
        guard j < pattern.count else { return i == name.count }
        switch pattern[j] {
        case "*":
            return (i...name.count).contains { match(name, $0, pattern, j + 1) }
        case "%":
            var k = i
            while true {
                if match(name, k, pattern, j + 1) { return true }
                guard k < name.count, name[k] != "/" else { return false }
                k += 1
            }
        default:
            return i < name.count && name[i] == pattern[j] && match(name, i + 1, pattern, j + 1)
        }
    }

    struct Entry {
        var name: String
        /// Nil for a parent that is only a level (`\Noselect`).
        var mailbox: VisibleMailbox?
        var hasChildren: Bool
    }

    /// Every mailbox plus the implied parents, in order, with child information.
    static func listing(_ mailboxes: [VisibleMailbox]) -> [Entry] {
        var byName: [String: VisibleMailbox] = [:]
        for mailbox in mailboxes { byName[mailbox.name] = mailbox }
        var names = Set(byName.keys)
        for name in byName.keys {
            var parts = name.split(separator: "/").dropLast()
            while !parts.isEmpty {
                names.insert(parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
        }
        let sorted = names.sorted { a, b in
            if a == "INBOX" { return b != "INBOX" }
            if b == "INBOX" { return false }
            return a < b
        }
        return sorted.map { name in
            Entry(name: name, mailbox: byName[name], hasChildren: names.contains { $0.hasPrefix(name + "/") })
        }
    }
}
